//! Two nodes append to the same streams. Whatever a node saw last, each append
//! gets the answer the database's current state gives: a wrong expected
//! revision carrying the actual one, an append at the right revision, or, for
//! a batch the other node already stored, its original places; the log holds
//! every event once at dense positions.

#![cfg(feature = "postgres")]

mod pg;

use caucus_eventlog::{AppendError, EventLog, ExpectedRevision, Position, StreamName};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_node_gets_the_answer_of_the_current_state() {
    let db = pg::ScratchDb::create().await;
    let a = db.open().await;
    let b = db.open().await;
    let s = StreamName::new("room-shared").unwrap();

    // A sees revision 0; B then moves the stream to 2.
    a.append(&s, ExpectedRevision::NoStream, vec![pg::event(0)])
        .await
        .unwrap();
    let by_b = vec![pg::event(1), pg::event(2)];
    let b_first = b
        .append(&s, ExpectedRevision::Exact(0), by_b.clone())
        .await
        .unwrap();
    assert_eq!((b_first.first_revision, b_first.last_revision), (1, 2));

    // A last wrote revision 0: its append at 0 is refused with the real one.
    let stale = a
        .append(&s, ExpectedRevision::Exact(0), vec![pg::event(3)])
        .await;
    match stale {
        Err(AppendError::WrongExpectedRevision {
            expected, actual, ..
        }) => {
            assert_eq!(expected, ExpectedRevision::Exact(0));
            assert_eq!(actual, Some(2));
        }
        other => panic!("expected a wrong expected revision, got {other:?}"),
    }
    // At the real revision it appends; with `Any` it appends after that.
    let right = a
        .append(&s, ExpectedRevision::Exact(2), vec![pg::event(4)])
        .await
        .unwrap();
    assert_eq!(
        (right.first_revision, right.first_position),
        (3, Position(3))
    );
    let any = a
        .append(&s, ExpectedRevision::Any, vec![pg::event(5)])
        .await
        .unwrap();
    assert_eq!((any.first_revision, any.first_position), (4, Position(4)));

    // B stores a batch after A wrote revision 4; A's retry of that very batch is
    // answered with B's places, not written again.
    let shared = vec![pg::event(6), pg::event(7)];
    let stored = b
        .append(&s, ExpectedRevision::Exact(4), shared.clone())
        .await
        .unwrap();
    let retried = a
        .append(&s, ExpectedRevision::Exact(4), shared.clone())
        .await
        .unwrap();
    assert!(retried.already_appended);
    assert_eq!(
        (retried.first_position, retried.last_position),
        (stored.first_position, stored.last_position)
    );
    // B's retry of its own old batch, long overtaken, too.
    let old = b
        .append(&s, ExpectedRevision::Exact(0), by_b)
        .await
        .unwrap();
    assert!(old.already_appended);
    assert_eq!(old.first_position, b_first.first_position);

    // A stream created by B is not empty for A, which never wrote it.
    let other = StreamName::new("room-other").unwrap();
    b.append(&other, ExpectedRevision::NoStream, vec![pg::event(8)])
        .await
        .unwrap();
    let again = a
        .append(&other, ExpectedRevision::NoStream, vec![pg::event(9)])
        .await;
    assert!(
        matches!(
            again,
            Err(AppendError::WrongExpectedRevision {
                actual: Some(0),
                ..
            })
        ),
        "{again:?}"
    );

    // The log holds each event once, at dense positions.
    let all = a.read_all(None, 100).await.unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, (0..8).collect::<Vec<_>>());
    let revisions: Vec<u64> = all
        .iter()
        .filter(|e| e.stream == s)
        .map(|e| e.revision)
        .collect();
    assert_eq!(revisions, (0..7).collect::<Vec<_>>());
    assert_eq!(a.stream_revision(&s).await.unwrap(), Some(6));
}
