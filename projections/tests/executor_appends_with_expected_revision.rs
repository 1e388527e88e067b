//! The executor decides against the stream's state, appends durably with the
//! expected revision, refuses what the decider refuses without appending, and
//! re-decides when another writer got there first.

mod common;

use std::sync::Arc;

use caucus_domain::{Room, RoomError, RoomEvent};
use caucus_eventlog::{Metadata, Position};
use caucus_projections::{ExecuteError, Executor};
use common::*;

#[tokio::test]
async fn a_command_appends_its_events_and_returns_the_new_state() {
    let (log, _dir) = store();
    let rooms = Executor::<Room>::new(log.clone());
    let id = room_id(1).to_string();

    let created = rooms
        .execute(&id, create_room(1), Metadata::default())
        .await
        .unwrap();
    assert!(matches!(
        created.events.as_slice(),
        [RoomEvent::RoomCreated(_)]
    ));
    let outcome = created.outcome.expect("appended");
    assert_eq!(
        (outcome.first_revision, outcome.first_position),
        (0, Position(0))
    );

    let joined = rooms
        .execute(&id, join(1, "host", 1, 10), Metadata::default())
        .await
        .unwrap();
    let types: Vec<_> = joined
        .events
        .iter()
        .map(|e| caucus_domain::DomainEvent::event_type(e))
        .collect();
    assert_eq!(types, ["SessionOpened", "PeerJoined"]);
    assert_eq!(joined.state.peers.len(), 1);
    assert_eq!(
        log.stream_revision(&Executor::<Room>::stream(&id).unwrap())
            .await
            .unwrap(),
        Some(2)
    );
}

#[tokio::test]
async fn a_refused_command_appends_nothing() {
    let (log, _dir) = store();
    let rooms = Executor::<Room>::new(log.clone());
    let id = room_id(1).to_string();
    rooms
        .execute(&id, create_room(1), Metadata::default())
        .await
        .unwrap();

    let err = rooms
        .execute(&id, join(1, "nobody", 1, 10), Metadata::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecuteError::Rejected(RoomError::UnknownRole { .. })),
        "{err:?}"
    );
    assert_eq!(log.read_all(None, 100).await.unwrap().len(), 1);
}

#[tokio::test]
async fn two_writers_on_one_stream_never_overwrite_each_other() {
    // Two executors over one log stand for two nodes: each caches the stream's
    // state, so each of them sees conflicts and must re-read and re-decide.
    let (log, _dir) = store();
    let a = Arc::new(Executor::<Room>::new(log.clone()));
    let b = Arc::new(Executor::<Room>::new(log.clone()));
    let id = room_id(1).to_string();
    a.execute(&id, create_room(1), Metadata::default())
        .await
        .unwrap();

    let mut tasks = Vec::new();
    for n in 0..40u64 {
        let ex = if n % 2 == 0 { a.clone() } else { b.clone() };
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            ex.execute(&id, join(n, "host", 1, n as i64), Metadata::default())
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }

    let (state, revision) = a.load(&id).await.unwrap();
    assert_eq!(state.peers.len(), 40, "every join landed exactly once");
    let events = log.read_all(None, 1000).await.unwrap();
    // RoomCreated, one SessionOpened, 40 PeerJoined; revisions dense.
    assert_eq!(events.len(), 42);
    assert_eq!(revision, Some(41));
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.revision, i as u64);
    }
    let opened = events
        .iter()
        .filter(|e| e.event_type == "SessionOpened")
        .count();
    assert_eq!(
        opened, 1,
        "a conflicting join re-decides instead of opening a second session"
    );
}
