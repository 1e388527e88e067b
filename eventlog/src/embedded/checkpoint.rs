//! Consumer checkpoints: one small file per consumer in `checkpoints/`,
//! replaced atomically (temporary file, fsync, rename, directory fsync).
//!
//! ```text
//! checkpoints/<hex of the consumer name>.ckpt = position: u64 LE | crc32c(position): u32 LE
//! ```

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{AppendError, ReadError};
use crate::types::Position;

/// Longest consumer name, in bytes.
pub const MAX_NAME_LEN: usize = 200;
const FILE_LEN: usize = 12;

#[derive(Debug)]
pub struct Checkpoints {
    dir: PathBuf,
    /// Makes temporary file names unique within this process.
    nonce: AtomicU64,
}

impl Checkpoints {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            nonce: AtomicU64::new(0),
        }
    }

    fn path(&self, consumer: &str) -> PathBuf {
        let hex: String = consumer.bytes().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}.ckpt"))
    }

    fn check_name(consumer: &str) -> Result<(), String> {
        if consumer.is_empty() || consumer.len() > MAX_NAME_LEN {
            return Err(format!("consumer name must be 1..={MAX_NAME_LEN} bytes"));
        }
        Ok(())
    }

    pub fn load(&self, consumer: &str) -> Result<Option<Position>, ReadError> {
        Self::check_name(consumer).map_err(ReadError::Unavailable)?;
        let path = self.path(consumer);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ReadError::Unavailable(format!("{}: {e}", path.display()))),
        };
        decode(&bytes)
            .map(Some)
            .ok_or_else(|| ReadError::Corrupt(format!("checkpoint file {}", path.display())))
    }

    pub fn save(&self, consumer: &str, position: Position) -> Result<(), AppendError> {
        Self::check_name(consumer).map_err(AppendError::Invalid)?;
        let path = self.path(consumer);
        let n = self.nonce.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
        let unavailable =
            |e: std::io::Error| AppendError::Unavailable(format!("{}: {e}", path.display()));
        fs::create_dir_all(&self.dir).map_err(unavailable)?;
        let result = write_synced(&tmp, &encode(position))
            .and_then(|()| fs::rename(&tmp, &path))
            .and_then(|()| sync_dir(&self.dir));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(unavailable)
    }
}

fn encode(p: Position) -> [u8; FILE_LEN] {
    let mut b = [0u8; FILE_LEN];
    b[..8].copy_from_slice(&p.0.to_le_bytes());
    let crc = crc32c::crc32c(&b[..8]);
    b[8..].copy_from_slice(&crc.to_le_bytes());
    b
}

fn decode(b: &[u8]) -> Option<Position> {
    if b.len() != FILE_LEN {
        return None;
    }
    let mut p = [0u8; 8];
    p.copy_from_slice(&b[..8]);
    let crc = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    (crc32c::crc32c(&p) == crc).then(|| Position(u64::from_le_bytes(p)))
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}
