//! `caucus replay` prints a room's state at a moment and its history, read from
//! the embedded store that `caucus serve` uses.

use caucus_domain::room::{
    CreateRoom, JoinPeer, LeavePeer, LeaveReason, PublishTrack, RoomSettings, TrackKind,
    TrackSource,
};
use caucus_domain::template::{PublishKind, Role};
use caucus_domain::{RoomCommand, Timestamp};
use caucus_eventlog::Metadata;
use caucus_eventlog::embedded::EmbeddedLog;
use caucus_projections::Engine;
use caucus_tests::caucus;

const ROOM: &str = "0000000000000000000000a1";

fn at(s: i64) -> Timestamp {
    // 2027-01-15T08:00:00Z + s
    Timestamp::from_unix_seconds(1_800_000_000 + s)
}

fn commands() -> Vec<RoomCommand> {
    let role = "speaker".parse().unwrap();
    let mut speaker = Role::new("speaker".parse().unwrap());
    speaker.publish_params.allowed = vec![PublishKind::Audio];
    let peer = |n: u32| {
        format!("00000000-0000-4000-8000-00000000000{n}")
            .parse()
            .unwrap()
    };
    vec![
        CreateRoom {
            room_id: ROOM.parse().unwrap(),
            workspace_id: "000000000000000000000001".parse().unwrap(),
            name: "standup".into(),
            description: String::new(),
            template_id: "000000000000000000000002".parse().unwrap(),
            roles: [(role, speaker)].into_iter().collect(),
            settings: RoomSettings::default(),
            at: at(0),
        }
        .into(),
        join(peer(1), 10),
        PublishTrack {
            peer_id: peer(1),
            track_id: "mic-1".parse().unwrap(),
            stream_id: "s-1".parse().unwrap(),
            kind: TrackKind::Audio,
            source: TrackSource::Regular,
            muted: false,
            description: String::new(),
            at: at(11),
        }
        .into(),
        join(peer(2), 20),
        LeavePeer {
            peer_id: peer(1),
            reason: LeaveReason::ClientRequest,
            at: at(30),
        }
        .into(),
    ]
}

fn join(peer_id: caucus_domain::PeerId, t: i64) -> RoomCommand {
    JoinPeer {
        user_id: format!("user-{t}").parse().unwrap(),
        peer_id,
        name: "Ada, \"the\" speaker".into(),
        metadata: "{}".into(),
        role: "speaker".parse().unwrap(),
        session_id: "0000000000000000000000b1".parse().unwrap(),
        roles: None,
        at: at(t),
    }
    .into()
}

async fn write_room(data: &std::path::Path) {
    let log = EmbeddedLog::open(data.join("log")).unwrap();
    let engine = Engine::start(log.clone(), None).await.unwrap();
    for cmd in commands() {
        engine
            .rooms
            .execute(
                ROOM,
                cmd,
                Metadata {
                    actor: Some("test".into()),
                    ..Metadata::default()
                },
            )
            .await
            .unwrap();
    }
    drop(engine);
    log.close().await;
}

fn replay(data: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let data = data.to_str().unwrap();
    let mut args = vec!["replay", "--data", data, "--room", ROOM];
    args.extend_from_slice(extra);
    caucus(&args).output().unwrap()
}

#[tokio::test]
async fn json_shows_the_latest_state_and_every_event() {
    let dir = tempfile::tempdir().unwrap();
    write_room(dir.path()).await;

    let out = replay(dir.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let types: Vec<&str> = doc["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "RoomCreated",
            "SessionOpened",
            "PeerJoined",
            "TrackPublished",
            "PeerJoined",
            "PeerLeft"
        ]
    );
    let peers = doc["state"]["peers"].as_object().unwrap();
    assert_eq!(peers.len(), 1, "peer 1 has left: {peers:?}");
    assert_eq!(doc["history"][5]["data"]["reason"], "client request");
    assert_eq!(doc["history"][0]["actor"], "test");
    assert_eq!(doc["history"][2]["at"], "2027-01-15T08:00:10Z");
}

#[tokio::test]
async fn at_a_moment_shows_the_state_then() {
    let dir = tempfile::tempdir().unwrap();
    write_room(dir.path()).await;

    let out = replay(dir.path(), &["--at", "2027-01-15T08:00:25Z"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["history"].as_array().unwrap().len(), 5);
    let peers = doc["state"]["peers"].as_object().unwrap();
    assert_eq!(peers.len(), 2, "both peers are in the room at 08:00:25");
    let tracks = peers["00000000-0000-4000-8000-000000000001"]["tracks"]
        .as_object()
        .unwrap();
    assert!(tracks.contains_key("mic-1"));
}

#[tokio::test]
async fn csv_has_a_header_and_one_quoted_row_per_event() {
    let dir = tempfile::tempdir().unwrap();
    write_room(dir.path()).await;

    let out = replay(dir.path(), &["--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("position,revision,at,recorded_at,type,schema_version,actor,data")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 6);
    assert!(
        rows[2].starts_with("2,2,2027-01-15T08:00:10Z,"),
        "{}",
        rows[2]
    );
    assert!(
        rows[2].contains(r#""{""#),
        "the JSON data column is quoted: {}",
        rows[2]
    );
}

#[tokio::test]
async fn an_unknown_room_or_a_bad_time_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write_room(dir.path()).await;

    let data = dir.path().to_str().unwrap();
    let out = caucus(&[
        "replay",
        "--data",
        data,
        "--room",
        "0000000000000000000000ff",
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = replay(dir.path(), &["--at", "yesterday"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("RFC3339"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
