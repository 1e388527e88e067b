//! Shared test helpers: given/when/then, fixed ids, a standard set of roles.
#![allow(dead_code)]

pub mod samples;

use caucus_domain::room::*;
use caucus_domain::template::*;
use caucus_domain::*;

// ---------- given / when / then ----------

/// Maps an event type to its aggregate, so `given(events)` needs no turbofish.
pub trait EventOf: Sized {
    type A: Aggregate<Event = Self>;
}

impl EventOf for RoomEvent {
    type A = Room;
}

impl EventOf for TemplateEvent {
    type A = Template;
}

pub struct Given<A: Aggregate> {
    state: A::State,
}

/// The state after `events`, folded from the default.
pub fn given<E: EventOf>(events: impl IntoIterator<Item = E>) -> Given<E::A> {
    let events: Vec<E> = events.into_iter().collect();
    Given {
        state: <E::A as Aggregate>::fold(events.iter()),
    }
}

impl<A: Aggregate> Given<A>
where
    A::Event: PartialEq + std::fmt::Debug,
    A::Error: PartialEq,
{
    pub fn state(&self) -> &A::State {
        &self.state
    }

    pub fn when(self, cmd: impl Into<A::Command>) -> When<A> {
        let result = A::decide(&self.state, &cmd.into());
        When {
            state: self.state,
            result,
        }
    }
}

pub struct When<A: Aggregate> {
    state: A::State,
    result: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> When<A>
where
    A::Event: PartialEq + std::fmt::Debug,
    A::Error: PartialEq,
{
    /// Asserts the events and returns the state after them.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = impl Into<A::Event>>) -> A::State {
        let expected: Vec<A::Event> = expected.into_iter().map(Into::into).collect();
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "unexpected events");
                events.iter().fold(self.state, A::evolve)
            }
            Err(e) => panic!("expected events {expected:#?}, got error {e:?}"),
        }
    }

    /// Asserts that nothing happens (the command asks for what is already so).
    #[track_caller]
    pub fn then_nothing(self) -> A::State {
        self.then(Vec::<A::Event>::new())
    }

    /// Asserts the error.
    #[track_caller]
    pub fn then_err(self, expected: A::Error) {
        match self.result {
            Ok(events) => panic!("expected error {expected:?}, got events {events:#?}"),
            Err(e) => assert_eq!(e, expected),
        }
    }

    /// The raw outcome.
    pub fn events_or_err(self) -> Result<Vec<A::Event>, A::Error> {
        self.result
    }

    /// The events, for checks that only look at part of them.
    #[track_caller]
    pub fn events(self) -> Vec<A::Event> {
        match self.result {
            Ok(events) => events,
            Err(e) => panic!("expected events, got error {e:?}"),
        }
    }

    /// The state after the events.
    #[track_caller]
    pub fn state_after(self) -> A::State {
        let state = self.state;
        match self.result {
            Ok(events) => events.iter().fold(state, A::evolve),
            Err(e) => panic!("expected events, got error {e:?}"),
        }
    }
}

// ---------- ids and time ----------

pub fn workspace_id() -> WorkspaceId {
    WorkspaceId::new("65f000000000000000000001").unwrap()
}
pub fn template_id() -> TemplateId {
    TemplateId::new("65f000000000000000000002").unwrap()
}
pub fn other_template_id() -> TemplateId {
    TemplateId::new("65f000000000000000000003").unwrap()
}
pub fn room_id() -> RoomId {
    RoomId::new("65f0000000000000000000aa").unwrap()
}
pub fn session(n: u32) -> SessionId {
    SessionId::new(format!("65f1{n:020x}")).unwrap()
}
pub fn peer(n: u32) -> PeerId {
    PeerId::new(format!("00000000-0000-4000-8000-{n:012x}")).unwrap()
}
pub fn message_id(n: u32) -> MessageId {
    MessageId::new(format!("00000000-0000-4000-9000-{n:012x}")).unwrap()
}
pub fn track(n: u32) -> TrackId {
    TrackId::new(format!("track-{n}")).unwrap()
}
pub fn stream(n: u32) -> StreamId {
    StreamId::new(format!("stream-{n}")).unwrap()
}
pub fn token(n: u32) -> RequestToken {
    RequestToken::new(format!("token-{n}")).unwrap()
}
pub fn user(n: u32) -> UserId {
    UserId::new(format!("user-{n}")).unwrap()
}
pub fn rn(name: &str) -> RoleName {
    RoleName::new(name).unwrap()
}
/// Seconds after a fixed start (2026-01-01T00:00:00Z).
pub fn t(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_767_225_600 + seconds)
}

// ---------- roles ----------

pub fn role(name: &str, allowed: &[PublishKind], max_peer_count: i32, perms: Permissions) -> Role {
    let mut r = Role::new(rn(name));
    r.publish_params.allowed = allowed.to_vec();
    r.max_peer_count = max_peer_count;
    r.permissions = perms;
    r
}

pub fn all_permissions() -> Permissions {
    Permissions {
        end_room: true,
        remove_others: true,
        mute: true,
        unmute: true,
        change_role: true,
        send_room_state: true,
        poll_read: true,
        poll_write: true,
        ..Permissions::default()
    }
}

/// host: publishes everything, every permission, unlimited.
/// guest: audio + video, no permissions, unlimited.
/// viewer: publishes nothing, no permissions, unlimited.
/// stage: audio only, at most 2 peers.
/// blocked: maxPeerCount -1.
pub fn roles() -> Roles {
    use PublishKind::*;
    [
        role("host", &[Audio, Video, Screen], 0, all_permissions()),
        role("guest", &[Audio, Video], 0, Permissions::default()),
        role("viewer", &[], 0, Permissions::default()),
        role("stage", &[Audio], 2, Permissions::default()),
        role("blocked", &[Audio], -1, Permissions::default()),
    ]
    .into_iter()
    .map(|r| (r.name.clone(), r))
    .collect()
}

// ---------- room events and commands ----------

pub fn room_created() -> RoomEvent {
    RoomCreated {
        room_id: room_id(),
        workspace_id: workspace_id(),
        name: "standup".into(),
        description: "daily".into(),
        template_id: template_id(),
        roles: roles(),
        settings: RoomSettings::default(),
        at: t(0),
    }
    .into()
}

pub fn session_opened(at: i64) -> RoomEvent {
    SessionOpened {
        session_id: session(1),
        template_id: template_id(),
        roles: roles(),
        at: t(at),
    }
    .into()
}

pub fn peer_joined(n: u32, role: &str, at: i64) -> RoomEvent {
    PeerJoined {
        peer_id: peer(n),
        session_id: session(1),
        user_id: user(n),
        name: format!("peer {n}"),
        metadata: "{}".into(),
        role: rn(role),
        at: t(at),
    }
    .into()
}

/// Created room, session 1 opened at t(10), and these peers (n, role) joined.
pub fn room_with(peers: &[(u32, &str)]) -> Vec<RoomEvent> {
    let mut events = vec![room_created()];
    if !peers.is_empty() {
        events.push(session_opened(10));
    }
    for (n, r) in peers {
        events.push(peer_joined(*n, r, 10));
    }
    events
}

pub fn join(n: u32, role: &str, at: i64) -> JoinPeer {
    JoinPeer {
        peer_id: peer(n),
        user_id: user(n),
        name: format!("peer {n}"),
        metadata: "{}".into(),
        role: rn(role),
        session_id: session(1),
        roles: None,
        at: t(at),
    }
}

pub fn published(
    n: u32,
    track_n: u32,
    kind: TrackKind,
    source: TrackSource,
    muted: bool,
) -> RoomEvent {
    TrackPublished {
        peer_id: peer(n),
        track_id: track(track_n),
        stream_id: stream(n),
        kind,
        source,
        muted,
        description: String::new(),
        at: t(20),
    }
    .into()
}

pub fn publish(
    n: u32,
    track_n: u32,
    kind: TrackKind,
    source: TrackSource,
    at: i64,
) -> PublishTrack {
    PublishTrack {
        peer_id: peer(n),
        track_id: track(track_n),
        stream_id: stream(n),
        kind,
        source,
        muted: false,
        description: String::new(),
        at: t(at),
    }
}

pub fn left(
    n: u32,
    reason: LeaveReason,
    message: Option<&str>,
    by: Option<Actor>,
    at: i64,
) -> RoomEvent {
    PeerLeft {
        peer_id: peer(n),
        session_id: session(1),
        reason,
        message: message.map(str::to_owned),
        removed_by: by,
        at: t(at),
    }
    .into()
}

pub fn closed(reason: SessionCloseReason, at: i64) -> RoomEvent {
    SessionClosed {
        session_id: session(1),
        reason,
        started_at: t(10),
        at: t(at),
    }
    .into()
}

pub fn as_peer(n: u32) -> Actor {
    Actor::Peer(peer(n))
}
