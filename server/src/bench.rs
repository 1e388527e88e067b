//! `caucus bench …`: benchmark programs. They print figures; they assert nothing.

use std::io::IsTerminal;
use std::time::Instant;

use caucus_domain::room::{
    JoinPeer, LeavePeer, LeaveReason, MuteTrack, PublishTrack, TrackKind, TrackSource, UnmuteTrack,
};
use caucus_domain::template::{PublishKind, Role};
use caucus_domain::{Aggregate, PeerId, RoleName, Room, RoomCommand, RoomEvent, Timestamp, UserId};
use caucus_eventlog::{EventLog, ExpectedRevision, Metadata, StreamName};
use caucus_projections::{LiveRooms, decode_event, encode_event, rebuild};
use serde::Serialize;

use crate::cli::BenchLogArgs;

/// Events written for the replay measurement.
const REPLAY_EVENTS: usize = 1_000_000;
const REPLAY_ROOMS: usize = 100;

#[derive(Debug, Serialize)]
struct LogReport {
    machine: String,
    #[serde(flatten)]
    log: crate::bench_log::LogBench,
    replay_events_per_s: f64,
    replay_events: usize,
    /// The replay's parts: reading envelopes alone, and reading plus decoding.
    replay_read_events_per_s: f64,
    replay_read_decode_events_per_s: f64,
}

pub async fn log(args: BenchLogArgs) -> anyhow::Result<()> {
    let progress = std::io::stdout().is_terminal() && !args.json;
    if let Some(url) = &args.store {
        let report = crate::bench_log_pg::run(url, progress).await?;
        return print(&report, args.json);
    }
    let tmp;
    let dir = match &args.data {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_owned()
        }
    };
    let log = crate::bench_log::run(&dir.join("append"), progress).await?;
    let replay = replay(&dir.join("replay"), progress).await?;
    let report = LogReport {
        machine: machine_line(),
        log,
        replay_events_per_s: replay.fold,
        replay_events: replay.events,
        replay_read_events_per_s: replay.read,
        replay_read_decode_events_per_s: replay.decode,
    };
    print(&report, args.json)
}

pub async fn api(args: crate::bench_api::BenchApiArgs) -> anyhow::Result<()> {
    let json = args.json;
    let report = crate::bench_api::run(args).await?;
    print(&report, json)
}

pub async fn webhooks(args: crate::cli::JsonArg) -> anyhow::Result<()> {
    let progress = std::io::stdout().is_terminal() && !args.json;
    let report = crate::bench_webhooks::run(progress).await?;
    print(&report, args.json)
}

pub(crate) fn print<T: Serialize>(report: &T, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
    } else if let serde_json::Value::Object(map) = serde_json::to_value(report)? {
        for (k, v) in map {
            println!("{k:>36}  {v}");
        }
    }
    Ok(())
}

/// Replay rates, events/s.
struct ReplayRates {
    events: usize,
    read: f64,
    decode: f64,
    fold: f64,
}

/// Writes `REPLAY_EVENTS` realistic room events, then times reading them,
/// reading and decoding them, and the full replay: read, decode and fold into
/// room state with the live-rooms projection.
async fn replay(dir: &std::path::Path, progress: bool) -> anyhow::Result<ReplayRates> {
    let store = crate::store::open_embedded(dir).await?;
    let events = write_room_history(store.log.as_ref(), progress).await?;
    let rate = |started: Instant| events as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let read = scan(store.log.as_ref(), |_| Ok(())).await?;
    let read_rate = rate(started);
    let started = Instant::now();
    let decoded = scan(store.log.as_ref(), |r| {
        decode_event::<RoomEvent>(r).map(drop).map_err(Into::into)
    })
    .await?;
    let decode_rate = rate(started);
    anyhow::ensure!(
        read == events && decoded == events,
        "replay read {read}/{decoded} of {events} events"
    );

    let started = Instant::now();
    let live: LiveRooms = rebuild(&store.log, None).await?;
    let fold_rate = rate(started);
    anyhow::ensure!(live.totals().rooms == REPLAY_ROOMS, "replay lost rooms");
    store.close().await;
    Ok(ReplayRates {
        events,
        read: read_rate,
        decode: decode_rate,
        fold: fold_rate,
    })
}

/// Reads the whole log page by page, calling `f` on each event.
async fn scan(
    log: &dyn EventLog,
    mut f: impl FnMut(&caucus_eventlog::RecordedEvent) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let mut cursor = None;
    let mut n = 0;
    loop {
        let page = log.read_all(cursor, 16_384).await?;
        let Some(last) = page.last() else {
            return Ok(n);
        };
        cursor = Some(last.position);
        for e in &page {
            f(e)?;
        }
        n += page.len();
    }
}

/// Rooms where peers join, publish, mute, unmute and leave while one stays,
/// decided by the real decider and appended in batches.
async fn write_room_history(log: &dyn EventLog, progress: bool) -> anyhow::Result<usize> {
    let bar = progress.then(|| {
        indicatif::ProgressBar::new(REPLAY_EVENTS as u64).with_message("writing room history")
    });
    let per_room = REPLAY_EVENTS / REPLAY_ROOMS;
    let mut total = 0;
    for r in 0..REPLAY_ROOMS {
        let events = room_events(r as u64, per_room);
        let stream = StreamName::of(Room::CATEGORY, &format!("{:024x}", 0xB000 + r))?;
        let mut revision = None;
        for chunk in events.chunks(1000) {
            let batch = chunk
                .iter()
                .map(|e| encode_event(e, &Metadata::default()))
                .collect();
            let expected = revision.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
            let outcome = log.append(&stream, expected, batch).await?;
            revision = Some(outcome.last_revision);
            total += chunk.len();
            if let Some(b) = &bar {
                b.inc(chunk.len() as u64);
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(total)
}

fn room_events(room: u64, count: usize) -> Vec<RoomEvent> {
    let role: RoleName = "speaker".parse().expect("role");
    let mut speaker = Role::new(role.clone());
    speaker.publish_params.allowed = vec![PublishKind::Audio, PublishKind::Video];
    let roles: caucus_domain::template::Roles = [(role.clone(), speaker)].into_iter().collect();
    let at = |n: usize| Timestamp::from_unix_seconds(1_800_000_000 + n as i64);
    let create = caucus_domain::room::CreateRoom {
        room_id: format!("{:024x}", 0xB000 + room).parse().expect("room id"),
        workspace_id: format!("{:024x}", 1).parse().expect("workspace id"),
        name: format!("bench-{room}"),
        description: "benchmark room with a long enough description to look real".into(),
        template_id: format!("{:024x}", 2).parse().expect("template id"),
        roles,
        settings: Default::default(),
        at: at(0),
    };
    let mut state = Default::default();
    let mut out = Vec::with_capacity(count + 8);
    let step =
        |state: &mut caucus_domain::RoomState, cmd: RoomCommand, out: &mut Vec<RoomEvent>| {
            let events = Room::decide(state, &cmd).expect("benchmark commands are valid");
            for e in &events {
                *state = Room::evolve(std::mem::take(state), e);
            }
            out.extend(events);
        };
    step(&mut state, create.into(), &mut out);
    let mut n = 0usize;
    while out.len() < count {
        n += 1;
        let peer: PeerId = format!("00000000-0000-4000-8000-{n:012x}")
            .parse()
            .expect("peer id");
        let session = format!("{:024x}", 0xC000_0000 + n)
            .parse()
            .expect("session id");
        let mic = format!("mic-{n}").parse().expect("track id");
        let cam = format!("cam-{n}").parse().expect("track id");
        let stream_id = caucus_domain::StreamId::new(format!("stream-{n}")).expect("stream id");
        let mut cmds: Vec<RoomCommand> = vec![
            JoinPeer {
                peer_id: peer.clone(),
                user_id: UserId::new(format!("user-{n}")).expect("user id"),
                name: format!("Participant {n}"),
                metadata: r#"{"avatar":"https://example.test/a.png"}"#.into(),
                role: role.clone(),
                session_id: session,
                roles: None,
                at: at(n),
            }
            .into(),
            publish(&peer, &mic, &stream_id, TrackKind::Audio, at(n)),
            publish(&peer, &cam, &stream_id, TrackKind::Video, at(n)),
            MuteTrack {
                peer_id: peer.clone(),
                track_id: mic.clone(),
                at: at(n),
            }
            .into(),
            UnmuteTrack {
                peer_id: peer.clone(),
                track_id: mic,
                at: at(n),
            }
            .into(),
            LeavePeer {
                peer_id: peer,
                reason: LeaveReason::ClientRequest,
                at: at(n),
            }
            .into(),
        ];
        if n == 1 {
            // The first participant stays: one session while the others come and
            // go, as in a real meeting (not one session per join).
            cmds.pop();
        }
        for cmd in cmds {
            step(&mut state, cmd, &mut out);
        }
    }
    out.truncate(count);
    out
}

fn publish(
    peer: &PeerId,
    track: &caucus_domain::TrackId,
    stream: &caucus_domain::StreamId,
    kind: TrackKind,
    at: Timestamp,
) -> RoomCommand {
    PublishTrack {
        peer_id: peer.clone(),
        track_id: track.clone(),
        stream_id: stream.clone(),
        kind,
        source: TrackSource::Regular,
        muted: false,
        description: String::new(),
        at,
    }
    .into()
}

/// CPU model, cores and memory, for the figures' context.
pub fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024 / 1024);
    format!("{cpu}, {cores} cores, {mem_gib} GiB")
}
