//! Webhook endpoints: per-workspace configuration and signing secrets, kept in
//! `<dir>/endpoints.json` (mode 0600, atomic rewrite), never in the log.
//!
//! ```text
//! let store = EndpointStore::open(data_dir.join("webhooks"))?;
//! let (endpoint, secret) = store.create(&workspace, spec, now, &policy)?; // secret shown once
//! store.rotate(&workspace, &id, overlap, now)?;                         // old secret kept for `overlap`
//! // A room's override (`webhook` on the Room API) is a room-scoped endpoint:
//! let (endpoint, new_secret) = store.set_room_override(&workspace, &room, hook, now, &policy, head)?;
//! store.remove_room_override(&workspace, &room, now, head)?; // later events go back to the workspace
//! ```
//!
//! Routing is decided by log position, so every consumer agrees: a room
//! override covers the room's events after the log's head when it was set and,
//! once removed, up to the head when it was removed ([`RoomScope::covers`]).
//! Workspace endpoints skip what an override covers. A removed override stays
//! in the file as a scrubbed record (no url, headers or secrets) once its
//! consumer has finished, so a lagging workspace consumer still routes the
//! past correctly.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use caucus_domain::{Aggregate, Room, RoomId, Timestamp, WorkspaceId};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::payload::{STANDARD_TYPES, is_known_type};
use super::policy::{PolicyError, UrlPolicy, check_headers};
use super::signer::SigningSecret;

/// The file, inside the webhooks directory, that holds the endpoints.
pub const FILE_NAME: &str = "endpoints.json";
/// Most endpoints per workspace.
pub const MAX_ENDPOINTS_PER_WORKSPACE: usize = 20;
/// Default overlap of a secret rotation: 24 h.
pub const DEFAULT_OVERLAP_SECONDS: i64 = 86_400;

/// What GET room shows instead of a header value of a room override (values
/// are often credentials). An override whose header value is this exact text
/// is refused, so a GET-modify-POST round trip cannot store the mask.
pub const REDACTED: &str = "[redacted]";

/// Which room an override endpoint serves, and for which log positions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomScope {
    pub room_id: RoomId,
    /// The log's head when the override was set (`None`: the log was empty):
    /// it covers the room's events after it.
    pub after: Option<u64>,
    /// Set when the override was removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<Removal>,
}

/// When a room override was removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    /// The log's head then: the override still covers events up to it.
    pub head: Option<u64>,
    pub at: Timestamp,
    /// Its consumer delivered (or dead-lettered) everything it covers; the
    /// endpoint was scrubbed of url, headers and secrets.
    #[serde(default)]
    pub finished: bool,
}

impl RoomScope {
    /// The room's stream name (what payloads carry as `room`).
    pub fn stream(&self) -> String {
        format!("{}-{}", Room::CATEGORY, self.room_id)
    }

    /// Whether the event at `position` of stream `room` goes to this override.
    pub fn covers(&self, room: &str, position: u64) -> bool {
        let Some(id) = room
            .strip_prefix(Room::CATEGORY)
            .and_then(|r| r.strip_prefix('-'))
        else {
            return false;
        };
        id == self.room_id.as_str()
            && self.after.is_none_or(|a| position > a)
            && self
                .removed
                .as_ref()
                .is_none_or(|r| r.head.is_some_and(|h| position <= h))
    }

    /// Set and not removed.
    pub fn is_active(&self) -> bool {
        self.removed.is_none()
    }
}

/// A room override as the Room API sets it. `Debug` shows header names only.
#[derive(Clone, PartialEq, Eq)]
pub struct RoomHook {
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

impl fmt::Debug for RoomHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomHook")
            .field("url", &self.url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A signing secret with its validity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSecret {
    pub secret: SigningSecret,
    pub created_at: Timestamp,
    /// Set when a newer secret replaced it: it signs until then.
    pub expires_at: Option<Timestamp>,
}

/// One endpoint.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// 24 hex characters.
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub url: String,
    pub description: String,
    /// Sent as-is with every request.
    pub headers: BTreeMap<String, String>,
    /// `None` = every standard 100ms type; otherwise exactly these.
    pub events: Option<Vec<String>>,
    /// Newest first.
    pub secrets: Vec<StoredSecret>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Set on a room's override (Room API `webhook`); `None` for a workspace
    /// endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomScope>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values are often shared secrets (100ms's scheme): names only.
        f.debug_struct("Endpoint")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .field("url", &self.url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("events", &self.events)
            .field("room", &self.room)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// A new endpoint of `workspace` with a new id and one new signing secret
    /// (returned too, to be shown once); no headers, every standard type.
    fn fresh(
        workspace: &WorkspaceId,
        url: String,
        description: String,
        now: Timestamp,
    ) -> (Self, SigningSecret) {
        let secret = SigningSecret::generate();
        let endpoint = Endpoint {
            id: random_hex(12),
            workspace_id: workspace.clone(),
            url,
            description,
            headers: BTreeMap::new(),
            events: None,
            secrets: vec![StoredSecret {
                secret: secret.clone(),
                created_at: now,
                expires_at: None,
            }],
            created_at: now,
            updated_at: now,
            room: None,
        };
        (endpoint, secret)
    }

    /// Whether this endpoint receives webhooks of type `t`.
    pub fn wants(&self, t: &str) -> bool {
        match &self.events {
            None => STANDARD_TYPES.contains(&t),
            Some(list) => list.iter().any(|e| e == t),
        }
    }

    /// Whether this endpoint (whatever its kind) receives the event at
    /// `position` of stream `room`, given the store's room overrides.
    pub fn routes(&self, store: &EndpointStore, room: &str, position: u64) -> bool {
        match &self.room {
            Some(scope) => scope.covers(room, position),
            None => !store.overridden(room, position),
        }
    }

    /// A room override that is still set (not removed).
    pub fn is_active_override(&self) -> bool {
        self.room.as_ref().is_some_and(RoomScope::is_active)
    }

    /// The secrets that sign a request sent at `now`, newest first.
    pub fn signing_secrets(&self, now: Timestamp) -> impl Iterator<Item = &SigningSecret> {
        self.secrets
            .iter()
            .filter(move |s| s.expires_at.is_none_or(|e| e > now))
            .map(|s| &s.secret)
    }
}

/// What a caller sets on an endpoint; `None` = unchanged on update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointSpec {
    pub url: Option<String>,
    pub description: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    /// `Some(None)` clears the filter (every standard type).
    pub events: Option<Option<Vec<String>>>,
}

/// Why an endpoint operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("unknown webhook type {0:?}")]
    UnknownType(String),
    #[error("url is required")]
    MissingUrl,
    #[error("at most {MAX_ENDPOINTS_PER_WORKSPACE} endpoints per workspace")]
    TooMany,
    #[error("webhook endpoint not found")]
    NotFound,
    #[error("this endpoint is a room's webhook override: change it through the Room API")]
    RoomOverride,
    #[error("header {0:?} has the redaction placeholder as its value; send the real value")]
    RedactedValue(String),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid endpoint file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    endpoints: Vec<Endpoint>,
}

/// The endpoints of one data directory, cached in memory.
#[derive(Debug)]
pub struct EndpointStore {
    /// `None` for a store held in memory only.
    path: Option<PathBuf>,
    endpoints: RwLock<Vec<Endpoint>>,
}

impl EndpointStore {
    /// Opens (creating the directory if needed) the endpoint file in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, EndpointError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| EndpointError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let endpoints = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice::<File>(&bytes)
                    .map_err(|e| EndpointError::Corrupt {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?
                    .endpoints
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(EndpointError::Io { path, source }),
        };
        Ok(Self {
            path: Some(path),
            endpoints: RwLock::new(endpoints),
        })
    }

    /// A store that writes nothing (tests).
    pub fn in_memory() -> Self {
        Self {
            path: None,
            endpoints: RwLock::new(Vec::new()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Endpoint>> {
        self.endpoints.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Every endpoint of every workspace.
    pub fn all(&self) -> Vec<Endpoint> {
        self.read().clone()
    }

    /// The endpoints of one workspace, in creation order: its own and its
    /// rooms' overrides that are still set.
    pub fn list(&self, workspace: &WorkspaceId) -> Vec<Endpoint> {
        self.read()
            .iter()
            .filter(|e| &e.workspace_id == workspace && visible(e))
            .cloned()
            .collect()
    }

    /// One endpoint of `workspace` (another workspace's, or a removed room
    /// override, reads as absent).
    pub fn get(&self, workspace: &WorkspaceId, id: &str) -> Option<Endpoint> {
        self.read()
            .iter()
            .find(|e| e.id == id && &e.workspace_id == workspace && visible(e))
            .cloned()
    }

    /// The override of a room, while it is set.
    pub fn room_override(&self, workspace: &WorkspaceId, room: &RoomId) -> Option<Endpoint> {
        self.read()
            .iter()
            .find(|e| &e.workspace_id == workspace && is_override_of(e, room))
            .cloned()
    }

    /// Whether a room override (set now or in the past) covers the event at
    /// `position` of stream `room`: then workspace endpoints skip it.
    pub fn overridden(&self, room: &str, position: u64) -> bool {
        self.read()
            .iter()
            .filter_map(|e| e.room.as_ref())
            .any(|s| s.covers(room, position))
    }

    /// Sets a room's override. The first time, a room-scoped endpoint with a
    /// new secret is made and covers the room's events after `head()` (read
    /// under the store's lock, so no consumer can have routed a later event
    /// the old way); it returns the secret, once. Later calls change its url
    /// and headers and return no secret. Nothing is written on bad input.
    pub fn set_room_override(
        &self,
        workspace: &WorkspaceId,
        room: &RoomId,
        hook: RoomHook,
        now: Timestamp,
        policy: &UrlPolicy,
        head: impl FnOnce() -> Option<u64>,
    ) -> Result<(Endpoint, Option<SigningSecret>), EndpointError> {
        check_room_hook(&hook, policy)?;
        let spec = EndpointSpec {
            url: Some(hook.url),
            headers: Some(hook.headers),
            ..EndpointSpec::default()
        };
        self.mutate(|all| {
            if let Some(e) = all
                .iter_mut()
                .find(|e| &e.workspace_id == workspace && is_override_of(e, room))
            {
                let mut next = e.clone();
                apply_spec(&mut next, spec, policy)?;
                next.updated_at = now;
                *e = next.clone();
                return Ok((next, None));
            }
            let (mut endpoint, secret) = Endpoint::fresh(
                workspace,
                String::new(),
                format!("webhook override of room {room}"),
                now,
            );
            apply_spec(&mut endpoint, spec, policy)?;
            endpoint.room = Some(RoomScope {
                room_id: room.clone(),
                after: head(),
                removed: None,
            });
            all.push(endpoint.clone());
            Ok((endpoint, Some(secret)))
        })
    }

    /// Removes a room's override: the room's events after `head()` go to the
    /// workspace endpoints again; the override's consumer finishes the events
    /// it covers, then the endpoint is scrubbed ([`Self::retire`]). Returns
    /// the removed override, `None` when the room had none.
    pub fn remove_room_override(
        &self,
        workspace: &WorkspaceId,
        room: &RoomId,
        now: Timestamp,
        head: impl FnOnce() -> Option<u64>,
    ) -> Result<Option<Endpoint>, EndpointError> {
        if self.room_override(workspace, room).is_none() {
            return Ok(None);
        }
        self.mutate(|all| {
            let Some(e) = all
                .iter_mut()
                .find(|e| &e.workspace_id == workspace && is_override_of(e, room))
            else {
                return Ok(None);
            };
            if let Some(scope) = &mut e.room {
                scope.removed = Some(Removal {
                    head: head(),
                    at: now,
                    finished: false,
                });
            }
            e.updated_at = now;
            Ok(Some(e.clone()))
        })
    }

    /// Scrubs a removed room override whose consumer has finished: url,
    /// headers and secrets are dropped; the scope stays for routing.
    pub fn retire(&self, id: &str) -> Result<(), EndpointError> {
        self.mutate(|all| {
            if let Some(e) = all.iter_mut().find(|e| e.id == id)
                && let Some(removed) = e.room.as_mut().and_then(|s| s.removed.as_mut())
            {
                removed.finished = true;
                e.url.clear();
                e.headers.clear();
                e.secrets.clear();
            }
            Ok(())
        })
    }

    /// One endpoint by id alone (the delivery side).
    pub fn by_id(&self, id: &str) -> Option<Endpoint> {
        self.read().iter().find(|e| e.id == id).cloned()
    }

    /// Creates an endpoint with a new secret; returns it and the secret.
    pub fn create(
        &self,
        workspace: &WorkspaceId,
        spec: EndpointSpec,
        now: Timestamp,
        policy: &UrlPolicy,
    ) -> Result<(Endpoint, SigningSecret), EndpointError> {
        let url = spec.url.clone().ok_or(EndpointError::MissingUrl)?;
        let (mut endpoint, secret) = Endpoint::fresh(workspace, url, String::new(), now);
        apply_spec(&mut endpoint, spec, policy)?;
        self.mutate(|all| {
            if all
                .iter()
                .filter(|e| &e.workspace_id == workspace && e.room.is_none())
                .count()
                >= MAX_ENDPOINTS_PER_WORKSPACE
            {
                return Err(EndpointError::TooMany);
            }
            all.push(endpoint.clone());
            Ok(())
        })?;
        Ok((endpoint, secret))
    }

    /// Changes the fields `spec` sets.
    pub fn update(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        spec: EndpointSpec,
        now: Timestamp,
        policy: &UrlPolicy,
    ) -> Result<Endpoint, EndpointError> {
        self.mutate(|all| {
            let e = find(all, workspace, id)?;
            if e.room.is_some() {
                return Err(EndpointError::RoomOverride);
            }
            let mut next = e.clone();
            apply_spec(&mut next, spec, policy)?;
            next.updated_at = now;
            *e = next.clone();
            Ok(next)
        })
    }

    /// Deletes an endpoint.
    pub fn delete(&self, workspace: &WorkspaceId, id: &str) -> Result<(), EndpointError> {
        self.mutate(|all| {
            if find(all, workspace, id)?.room.is_some() {
                return Err(EndpointError::RoomOverride);
            }
            all.retain(|e| e.id != id);
            Ok(())
        })
    }

    /// Adds a new secret; the current ones stay valid for `overlap_seconds`.
    pub fn rotate(
        &self,
        workspace: &WorkspaceId,
        id: &str,
        overlap_seconds: i64,
        now: Timestamp,
    ) -> Result<SigningSecret, EndpointError> {
        let secret = SigningSecret::generate();
        self.mutate(|all| {
            let e = find(all, workspace, id)?;
            let until = now.plus_seconds(overlap_seconds.max(0));
            e.secrets.retain(|s| s.expires_at.is_none_or(|x| x > now));
            for s in &mut e.secrets {
                s.expires_at = Some(s.expires_at.map_or(until, |x| x.min(until)));
            }
            e.secrets.insert(
                0,
                StoredSecret {
                    secret: secret.clone(),
                    created_at: now,
                    expires_at: None,
                },
            );
            e.updated_at = now;
            Ok(())
        })?;
        Ok(secret)
    }

    /// Runs `f` on the list and, when it succeeds, writes the file.
    fn mutate<T>(
        &self,
        f: impl FnOnce(&mut Vec<Endpoint>) -> Result<T, EndpointError>,
    ) -> Result<T, EndpointError> {
        let mut guard = self.endpoints.write().unwrap_or_else(|p| p.into_inner());
        let mut next = guard.clone();
        let out = f(&mut next)?;
        if let Some(path) = &self.path {
            let file = File {
                endpoints: next.clone(),
            };
            let bytes = serde_json::to_vec_pretty(&file).expect("endpoints serialize");
            write_private(path, &bytes)?;
        }
        *guard = next;
        Ok(out)
    }
}

fn find<'a>(
    all: &'a mut [Endpoint],
    workspace: &WorkspaceId,
    id: &str,
) -> Result<&'a mut Endpoint, EndpointError> {
    all.iter_mut()
        .find(|e| e.id == id && &e.workspace_id == workspace && visible(e))
        .ok_or(EndpointError::NotFound)
}

/// The checks [`EndpointStore::set_room_override`] makes, for a caller that
/// must refuse bad input before it writes anything else.
pub fn check_room_hook(hook: &RoomHook, policy: &UrlPolicy) -> Result<(), EndpointError> {
    policy.check_url(&hook.url)?;
    check_headers(&hook.headers)?;
    if let Some((name, _)) = hook.headers.iter().find(|(_, v)| v.as_str() == REDACTED) {
        return Err(EndpointError::RedactedValue(name.clone()));
    }
    Ok(())
}

/// Workspace endpoints and room overrides still set are visible to the API.
fn visible(e: &Endpoint) -> bool {
    e.room.as_ref().is_none_or(RoomScope::is_active)
}

fn is_override_of(e: &Endpoint, room: &RoomId) -> bool {
    e.room
        .as_ref()
        .is_some_and(|s| s.is_active() && &s.room_id == room)
}

fn apply_spec(
    e: &mut Endpoint,
    spec: EndpointSpec,
    policy: &UrlPolicy,
) -> Result<(), EndpointError> {
    if let Some(url) = spec.url {
        policy.check_url(&url)?;
        e.url = url;
    }
    if let Some(d) = spec.description {
        e.description = d;
    }
    if let Some(h) = spec.headers {
        check_headers(&h)?;
        e.headers = h;
    }
    if let Some(events) = spec.events {
        if let Some(list) = &events
            && let Some(bad) = list.iter().find(|t| !is_known_type(t))
        {
            return Err(EndpointError::UnknownType(bad.clone()));
        }
        e.events = events;
    }
    Ok(())
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `path` atomically with mode 0600: a temporary file in the
/// same directory, fsynced, renamed over the old one.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), EndpointError> {
    let io = |source| EndpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(n: u8) -> WorkspaceId {
        format!("{n:024x}").parse().unwrap()
    }

    fn spec(url: &str) -> EndpointSpec {
        EndpointSpec {
            url: Some(url.into()),
            ..EndpointSpec::default()
        }
    }

    #[test]
    fn endpoints_persist_with_mode_0600_and_stay_in_their_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let policy = UrlPolicy::default();
        let store = EndpointStore::open(dir.path()).unwrap();
        let (e, secret) = store
            .create(
                &ws(1),
                spec("https://example.com/hook"),
                Timestamp::EPOCH,
                &policy,
            )
            .unwrap();
        assert!(secret.expose().starts_with("whsec_"));
        assert!(!format!("{e:?}").contains(secret.expose()));
        let path = dir.path().join(FILE_NAME);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let reopened = EndpointStore::open(dir.path()).unwrap();
        assert_eq!(reopened.get(&ws(1), &e.id), Some(e.clone()));
        assert_eq!(reopened.get(&ws(2), &e.id), None);
        assert!(reopened.list(&ws(2)).is_empty());
        assert!(matches!(
            reopened.delete(&ws(2), &e.id),
            Err(EndpointError::NotFound)
        ));
    }

    #[test]
    fn bad_specs_are_refused() {
        let store = EndpointStore::in_memory();
        let p = UrlPolicy::default();
        let t = Timestamp::EPOCH;
        assert!(
            store
                .create(&ws(1), spec("http://127.0.0.1/"), t, &p)
                .is_err()
        );
        assert!(
            store
                .create(&ws(1), EndpointSpec::default(), t, &p)
                .is_err()
        );
        let mut s = spec("https://example.com");
        s.events = Some(Some(vec!["nope".into()]));
        assert!(matches!(
            store.create(&ws(1), s, t, &p),
            Err(EndpointError::UnknownType(_))
        ));
        assert!(store.list(&ws(1)).is_empty());
    }

    #[test]
    fn rotation_keeps_the_old_secret_for_the_overlap() {
        let store = EndpointStore::in_memory();
        let p = UrlPolicy::default();
        let t0 = Timestamp::from_unix_seconds(1000);
        let (e, old) = store
            .create(&ws(1), spec("https://example.com"), t0, &p)
            .unwrap();
        let new = store.rotate(&ws(1), &e.id, 60, t0).unwrap();
        let e = store.get(&ws(1), &e.id).unwrap();
        let at = |s: i64| {
            e.signing_secrets(t0.plus_seconds(s))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(at(10), vec![new.clone(), old]);
        assert_eq!(at(61), vec![new]);
    }

    #[test]
    fn the_filter_defaults_to_the_standard_types() {
        let store = EndpointStore::in_memory();
        let p = UrlPolicy::default();
        let (e, _) = store
            .create(&ws(1), spec("https://example.com"), Timestamp::EPOCH, &p)
            .unwrap();
        assert!(e.wants("peer.join.success"));
        assert!(!e.wants("caucus.track.add.success"));
        let s = EndpointSpec {
            events: Some(Some(vec!["caucus.track.add.success".into()])),
            ..EndpointSpec::default()
        };
        let e = store
            .update(&ws(1), &e.id, s, Timestamp::EPOCH, &p)
            .unwrap();
        assert!(e.wants("caucus.track.add.success"));
        assert!(!e.wants("peer.join.success"));
    }

    fn hook(url: &str, key: &str) -> RoomHook {
        RoomHook {
            url: url.into(),
            headers: BTreeMap::from([("X-Key".to_owned(), key.to_owned())]),
        }
    }

    #[test]
    fn a_room_override_covers_its_rooms_events_between_set_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let p = UrlPolicy::default();
        let store = EndpointStore::open(dir.path()).unwrap();
        let room: RoomId = format!("{:024x}", 1).parse().unwrap();
        let stream = format!("{}-{room}", Room::CATEGORY);
        let other = format!("{}-{:024x}", Room::CATEGORY, 2);
        let t = Timestamp::EPOCH;
        let (e, secret) = store
            .set_room_override(
                &ws(1),
                &room,
                hook("https://a.example", "k1"),
                t,
                &p,
                || Some(10),
            )
            .unwrap();
        assert!(secret.is_some(), "a secret the first time");
        assert!(!store.overridden(&stream, 10));
        assert!(store.overridden(&stream, 11));
        assert!(!store.overridden(&other, 11));
        // A change keeps the endpoint, its scope and secret.
        let (again, none) = store
            .set_room_override(
                &ws(1),
                &room,
                hook("https://b.example", "k2"),
                t,
                &p,
                || Some(99),
            )
            .unwrap();
        assert!(none.is_none());
        assert_eq!(again.id, e.id);
        assert_eq!(again.room.as_ref().unwrap().after, Some(10));
        assert_eq!(again.url, "https://b.example");
        // Overrides are not counted against the workspace's endpoints and
        // cannot be changed through the endpoint API.
        assert!(matches!(
            store.delete(&ws(1), &e.id),
            Err(EndpointError::RoomOverride)
        ));
        assert!(matches!(
            store.update(&ws(1), &e.id, spec("https://c.example"), t, &p),
            Err(EndpointError::RoomOverride)
        ));
        // Removal: events up to the head then stay with the override.
        store
            .remove_room_override(&ws(1), &room, t, || Some(20))
            .unwrap()
            .unwrap();
        assert!(store.room_override(&ws(1), &room).is_none());
        assert!(store.overridden(&stream, 20));
        assert!(!store.overridden(&stream, 21));
        assert!(store.list(&ws(1)).is_empty());
        // Retired: scrubbed, but the scope still routes the past, after a reopen.
        store.retire(&e.id).unwrap();
        let reopened = EndpointStore::open(dir.path()).unwrap();
        let kept = reopened.by_id(&e.id).unwrap();
        assert!(kept.secrets.is_empty() && kept.headers.is_empty() && kept.url.is_empty());
        assert!(reopened.overridden(&stream, 15));
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(!text.contains("k2"));
        assert_eq!(
            store
                .remove_room_override(&ws(1), &room, t, || Some(30))
                .unwrap(),
            None
        );
    }

    #[test]
    fn debug_never_shows_header_values() {
        let h = hook("https://a.example", "very-secret");
        assert!(!format!("{h:?}").contains("very-secret"));
        assert!(format!("{h:?}").contains("X-Key"));
    }

    #[test]
    fn bad_room_overrides_write_nothing() {
        let store = EndpointStore::in_memory();
        let p = UrlPolicy::default();
        let room: RoomId = format!("{:024x}", 1).parse().unwrap();
        for h in [
            hook("ftp://a.example", "k"),
            hook("http://127.0.0.1/", "k"),
            hook("https://a.example", REDACTED),
        ] {
            assert!(
                store
                    .set_room_override(&ws(1), &room, h, Timestamp::EPOCH, &p, || None)
                    .is_err()
            );
        }
        assert!(store.all().is_empty());
    }
}
