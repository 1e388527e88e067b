//! A rebuild that spans many read pages, most of them read from the segment
//! files rather than the cache, equals applying the stored events one by one —
//! for the whole log and when stopped at a position (`upto`, inclusive).

mod common;

use std::sync::Arc;

use caucus_domain::{Aggregate, Room, RoomCommand, RoomEvent, RoomState};
use caucus_eventlog::embedded::{EmbeddedLog, Options};
use caucus_eventlog::{EventLog, ExpectedRevision, Metadata, Position, RecordedEvent, StreamName};
use caucus_projections::{LiveRooms, Projection, SessionHistory, encode_event, rebuild};
use common::*;

/// More than two rebuild pages (16,384 events each).
const EVENTS_PER_ROOM: usize = 12_000;
const ROOMS: u64 = 3;

/// A room's history: created, then peers joining and leaving while peer 0 stays.
fn history(room: u64) -> Vec<RoomEvent> {
    let mut state = RoomState::default();
    let mut out = Vec::new();
    let mut step = |cmd: RoomCommand, out: &mut Vec<RoomEvent>| {
        for e in Room::decide(&state, &cmd).expect("valid command") {
            Room::apply(&mut state, &e);
            out.push(e);
        }
    };
    step(create_room(room), &mut out);
    step(join(0, "host", room, 1), &mut out);
    let mut peer = 1;
    while out.len() < EVENTS_PER_ROOM {
        step(join(peer, "host", room, peer as i64), &mut out);
        step(leave(peer, peer as i64), &mut out);
        peer += 1;
    }
    out
}

async fn all_events(log: &dyn EventLog) -> Vec<RecordedEvent> {
    let mut out = Vec::new();
    loop {
        let page = log
            .read_all(out.last().map(|e: &RecordedEvent| e.position), 1000)
            .await
            .unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

fn applied<P: Projection>(events: &[RecordedEvent], upto: Option<Position>) -> P {
    let mut state = P::default();
    for e in events
        .iter()
        .filter(|e| upto.is_none_or(|u| e.position <= u))
    {
        state.apply(e).unwrap();
    }
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_over_pages_equals_applying_each_event_up_to_any_position() {
    let dir = tempfile::tempdir().unwrap();
    // A small cache: most pages come from the segment files.
    let options = Options {
        cache_bytes: 64 << 10,
        ..Options::default()
    };
    let log: Arc<dyn EventLog> = EmbeddedLog::open_with(dir.path(), options).unwrap();
    // Rooms interleaved batch by batch, so pages hold runs of several streams.
    let histories: Vec<_> = (0..ROOMS).map(history).collect();
    for batch in 0..EVENTS_PER_ROOM.div_ceil(1000) {
        for (room, events) in histories.iter().enumerate() {
            let stream = StreamName::of(Room::CATEGORY, room_id(room as u64).as_ref()).unwrap();
            let Some(chunk) = events.chunks(1000).nth(batch) else {
                continue;
            };
            let batch_events = chunk
                .iter()
                .map(|e| encode_event(e, &Metadata::default()))
                .collect();
            log.append(&stream, ExpectedRevision::Any, batch_events)
                .await
                .unwrap();
        }
    }
    let events = all_events(log.as_ref()).await;
    let last = events.last().unwrap().position;
    assert!(last.0 > 2 * 16_384, "the log spans more than two pages");

    for upto in [
        None,
        Some(Position(0)),
        Some(Position(16_383)),
        Some(Position(16_384)),
        Some(Position(20_000)),
        Some(Position(last.0 + 10)),
    ] {
        assert_eq!(
            rebuild::<LiveRooms>(&log, upto).await.unwrap(),
            applied::<LiveRooms>(&events, upto),
            "live rooms up to {upto:?}"
        );
    }
    for upto in [None, Some(Position(20_000))] {
        assert_eq!(
            rebuild::<SessionHistory>(&log, upto).await.unwrap(),
            applied::<SessionHistory>(&events, upto),
            "session history up to {upto:?}"
        );
    }
    let live: LiveRooms = rebuild(&log, None).await.unwrap();
    assert_eq!(live.totals().rooms, ROOMS as usize);
}
