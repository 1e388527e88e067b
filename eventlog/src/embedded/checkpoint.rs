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

    /// Every checkpoint file's consumer and position, sorted by name.
    /// Temporary files of an interrupted save are not checkpoints.
    pub fn list(&self) -> Result<Vec<(String, Position)>, ReadError> {
        let unavailable =
            |e: std::io::Error| ReadError::Unavailable(format!("{}: {e}", self.dir.display()));
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(unavailable(e)),
        };
        let mut all = Vec::new();
        for entry in entries {
            let path = entry.map_err(unavailable)?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("ckpt") {
                continue;
            }
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(unhex)
                .ok_or_else(|| {
                    ReadError::Corrupt(format!("checkpoint file name {}", path.display()))
                })?;
            if let Some(position) = self.load(&name)? {
                all.push((name, position));
            }
        }
        all.sort();
        Ok(all)
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

/// The consumer name a file stem encodes (see `path`).
fn unhex(stem: &str) -> Option<String> {
    if !stem.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..stem.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(stem.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_skips_leftover_temporary_files_and_reports_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        let cps = Checkpoints::new(dir.path().join("checkpoints"));
        assert_eq!(cps.list().unwrap(), Vec::new(), "no directory yet");
        cps.save("webhook-é", Position(4)).unwrap();
        cps.save("live-rooms", Position(7)).unwrap();
        // What a save interrupted before its rename leaves behind.
        fs::write(
            cps.path("sessions").with_extension("tmp1-0"),
            encode(Position(1)),
        )
        .unwrap();
        assert_eq!(
            cps.list().unwrap(),
            vec![
                ("live-rooms".to_owned(), Position(7)),
                ("webhook-é".to_owned(), Position(4)),
            ]
        );
        fs::write(dir.path().join("checkpoints/zz.ckpt"), encode(Position(1))).unwrap();
        assert!(matches!(cps.list(), Err(ReadError::Corrupt(_))));
    }
}
