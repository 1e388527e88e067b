//! Workspaces: isolated tenants, each with its own access key and secret.
//!
//! The credentials live in `workspaces.json` in the data directory, written with
//! file mode 0600 (atomically: a temporary file renamed over the old one). They
//! are never put in the event log and never logged: [`Secret`]'s `Debug` and
//! `Display` print `[redacted]`.
//!
//! ```text
//! let store = WorkspaceStore::open(data_dir)?;
//! let (ws, created) = store.ensure_default(from_env)?;   // first `caucus serve`
//! let ws = store.create("staging")?;                       // `caucus workspace create`
//! let found = store.by_access_key("…");                    // token verification
//! ```

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The file, inside the data directory, that holds the workspaces.
pub const FILE_NAME: &str = "workspaces.json";

/// A workspace secret. Prints as `[redacted]`; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself: only for signing and verifying tokens, and for the one
    /// time it is printed to the operator who created it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One workspace. Its `id` is the `customer_id` shown on rooms and templates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// 24 hex characters.
    pub id: String,
    pub name: String,
    /// 24 hex characters; the `access_key` claim of this workspace's tokens.
    pub access_key: String,
    pub secret: Secret,
}

impl Workspace {
    /// A new workspace with generated id, access key and secret.
    pub fn generate(name: impl Into<String>) -> Self {
        Self {
            id: random_hex(12),
            name: name.into(),
            access_key: random_hex(12),
            secret: Secret(random_hex(32)),
        }
    }
}

/// `n` random bytes from the OS-seeded CSPRNG, as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why the workspace file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid workspace file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("a workspace named {0:?} already exists")]
    NameTaken(String),
    #[error("a workspace with access key {0:?} already exists")]
    AccessKeyTaken(String),
    #[error("invalid workspace: {0}")]
    Invalid(String),
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    workspaces: Vec<Workspace>,
}

/// The workspaces of one data directory, cached in memory. A lookup that misses
/// re-reads the file when it changed on disk, so `caucus workspace create` takes
/// effect on a running server without a restart.
#[derive(Debug)]
pub struct WorkspaceStore {
    path: PathBuf,
    cache: RwLock<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    workspaces: Vec<Workspace>,
    modified: Option<SystemTime>,
}

impl WorkspaceStore {
    /// Opens (without creating) the workspace file of `data_dir`.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, WorkspaceError> {
        let path = data_dir.as_ref().join(FILE_NAME);
        let store = Self {
            path,
            cache: RwLock::new(Cache::default()),
        };
        store.reload()?;
        Ok(store)
    }

    /// A store held only in memory (tests): nothing is written to disk.
    pub fn in_memory(workspaces: Vec<Workspace>) -> Self {
        Self {
            path: PathBuf::new(),
            cache: RwLock::new(Cache {
                workspaces,
                modified: None,
            }),
        }
    }

    fn is_in_memory(&self) -> bool {
        self.path.as_os_str().is_empty()
    }

    /// Every workspace, in creation order.
    pub fn list(&self) -> Vec<Workspace> {
        self.cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .workspaces
            .clone()
    }

    /// The workspace whose tokens carry `access_key`.
    pub fn by_access_key(&self, access_key: &str) -> Option<Workspace> {
        if let Some(ws) = self.find(access_key) {
            return Some(ws);
        }
        if !self.is_in_memory() && self.changed_on_disk() {
            if let Err(e) = self.reload() {
                tracing::warn!(error = %e, "re-reading the workspace file failed");
            }
            return self.find(access_key);
        }
        None
    }

    fn find(&self, access_key: &str) -> Option<Workspace> {
        self.cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .workspaces
            .iter()
            .find(|w| w.access_key == access_key)
            .cloned()
    }

    fn changed_on_disk(&self) -> bool {
        let on_disk = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        on_disk
            != self
                .cache
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .modified
    }

    fn reload(&self) -> Result<(), WorkspaceError> {
        let (file, modified) = self.read_file()?;
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        cache.workspaces = file.workspaces;
        cache.modified = modified;
        Ok(())
    }

    fn read_file(&self) -> Result<(File, Option<SystemTime>), WorkspaceError> {
        let io = |source| WorkspaceError::Io {
            path: self.path.clone(),
            source,
        };
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((File::default(), None));
            }
            Err(e) => return Err(io(e)),
        };
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        let file: File = serde_json::from_slice(&bytes).map_err(|e| WorkspaceError::Corrupt {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        Ok((file, modified))
    }

    /// Creates a workspace with generated credentials and stores it.
    pub fn create(&self, name: &str) -> Result<Workspace, WorkspaceError> {
        self.insert(Workspace::generate(name))
    }

    /// Stores `ws`, refusing a taken name or access key.
    pub fn insert(&self, ws: Workspace) -> Result<Workspace, WorkspaceError> {
        validate(&ws)?;
        let mut file = if self.is_in_memory() {
            File {
                workspaces: self.list(),
            }
        } else {
            self.read_file()?.0
        };
        if file.workspaces.iter().any(|w| w.name == ws.name) {
            return Err(WorkspaceError::NameTaken(ws.name));
        }
        if file
            .workspaces
            .iter()
            .any(|w| w.access_key == ws.access_key)
        {
            return Err(WorkspaceError::AccessKeyTaken(ws.access_key));
        }
        file.workspaces.push(ws.clone());
        if self.is_in_memory() {
            self.cache
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .workspaces = file.workspaces;
            return Ok(ws);
        }
        self.write_file(&file)?;
        self.reload()?;
        Ok(ws)
    }

    /// Makes sure at least one workspace exists. On an empty store, creates
    /// `default` with the given credentials (from `CAUCUS_ACCESS_KEY` /
    /// `CAUCUS_SECRET`) or generated ones, and returns it with `true`; otherwise
    /// returns the first workspace with `false`.
    pub fn ensure_default(
        &self,
        credentials: Option<(String, Secret)>,
    ) -> Result<(Workspace, bool), WorkspaceError> {
        if let Some(first) = self.list().into_iter().next() {
            return Ok((first, false));
        }
        let mut ws = Workspace::generate("default");
        if let Some((access_key, secret)) = credentials {
            ws.access_key = access_key;
            ws.secret = secret;
        }
        Ok((self.insert(ws)?, true))
    }

    fn write_file(&self, file: &File) -> Result<(), WorkspaceError> {
        let io = |source| WorkspaceError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(file).expect("workspaces serialize");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp).map_err(io)?;
        #[cfg(unix)]
        {
            // The mode above only applies when the file is new.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
        }
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        Ok(())
    }
}

fn validate(ws: &Workspace) -> Result<(), WorkspaceError> {
    let name_ok = !ws.name.is_empty()
        && ws.name.len() <= 64
        && ws
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '));
    if !name_ok {
        return Err(WorkspaceError::Invalid(
            "name: 1-64 characters of a-z A-Z 0-9 space - _ .".into(),
        ));
    }
    let key_ok = !ws.access_key.is_empty()
        && ws.access_key.len() <= 128
        && ws
            .access_key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !key_ok {
        return Err(WorkspaceError::Invalid(
            "access key: 1-128 characters of a-z A-Z 0-9 - _ .".into(),
        ));
    }
    if ws.secret.expose().len() < 16 {
        return Err(WorkspaceError::Invalid(
            "secret: at least 16 characters".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact_the_secret() {
        let ws = Workspace::generate("w");
        let shown = format!("{ws:?} {}", ws.secret);
        assert!(!shown.contains(ws.secret.expose()));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn file_is_private_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = WorkspaceStore::open(dir.path()).unwrap();
        let (ws, created) = store.ensure_default(None).unwrap();
        assert!(created);
        let (again, created) = store.ensure_default(None).unwrap();
        assert!(!created);
        assert_eq!(again, ws);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let reopened = WorkspaceStore::open(dir.path()).unwrap();
        assert_eq!(reopened.by_access_key(&ws.access_key), Some(ws));
    }

    #[test]
    fn default_takes_credentials_from_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let store = WorkspaceStore::open(dir.path()).unwrap();
        let creds = ("my-key".to_string(), Secret::new("0123456789abcdef0123"));
        let (ws, _) = store.ensure_default(Some(creds)).unwrap();
        assert_eq!(ws.access_key, "my-key");
        assert_eq!(ws.secret.expose(), "0123456789abcdef0123");
    }

    #[test]
    fn names_and_access_keys_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let store = WorkspaceStore::open(dir.path()).unwrap();
        store.create("a").unwrap();
        assert!(matches!(
            store.create("a"),
            Err(WorkspaceError::NameTaken(_))
        ));
        let b = store.create("b").unwrap();
        let mut c = Workspace::generate("c");
        c.access_key = b.access_key;
        assert!(matches!(
            store.insert(c),
            Err(WorkspaceError::AccessKeyTaken(_))
        ));
    }

    #[test]
    fn a_workspace_created_by_another_process_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let serving = WorkspaceStore::open(dir.path()).unwrap();
        let cli = WorkspaceStore::open(dir.path()).unwrap();
        let ws = cli.create("late").unwrap();
        assert_eq!(serving.by_access_key(&ws.access_key), Some(ws));
        assert_eq!(serving.by_access_key("nope"), None);
    }
}
