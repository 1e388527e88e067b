//! Segment files: `<base_position>.log` (20 digits), a header, then frames.
//!
//! ```text
//! header = magic "CAUCUSLG" | format_version: u32 | salt: u32
//!        | base_position: u64 | crc32c(previous 24 bytes): u32 | reserved: u32
//! ```
//!
//! The version says how the segment's frames are laid out
//! ([`Layout`]); version 1 has `flags: u32 (0)` where version 2 has the
//! random `salt` that seeds its frame header CRCs. See `docs/embedded-log.md`.
//!
//! A segment is created with its header, synced, and the directory synced,
//! before any frame is written to it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::OpenError;

use super::frame::Layout;

pub const MAGIC: &[u8; 8] = b"CAUCUSLG";
/// The segment format this build writes and the newest it reads. It also
/// reads version 1.
pub const FORMAT_VERSION: u32 = 2;
pub const HEADER_LEN: usize = 32;

pub fn io_err(path: &Path, source: std::io::Error) -> OpenError {
    OpenError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub fn file_name(base: u64) -> String {
    format!("{base:020}.log")
}

/// The base position in a segment file name, `None` for other files.
pub fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments in `dir`, by base position.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, OpenError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        if let Some(base) = entry.file_name().to_str().and_then(parse_name) {
            out.push((base, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// A version-2 header whose frames use `salt`.
pub fn encode_header(base: u64, salt: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&salt.to_le_bytes());
    h[16..24].copy_from_slice(&base.to_le_bytes());
    let crc = crc32c::crc32c(&h[0..24]);
    h[24..28].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Checks a header read from `path`; returns its base position and the
/// layout of its frames.
pub fn check_header(path: &Path, h: &[u8]) -> Result<(u64, Layout), OpenError> {
    let corrupt = |reason: &str| OpenError::Corrupt {
        path: path.display().to_string(),
        reason: reason.to_owned(),
    };
    if h.len() < HEADER_LEN {
        return Err(corrupt("segment header cut short"));
    }
    if &h[0..8] != MAGIC {
        return Err(corrupt("not a Caucus log segment (bad magic)"));
    }
    let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if version > FORMAT_VERSION {
        return Err(OpenError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let crc = u32::from_le_bytes([h[24], h[25], h[26], h[27]]);
    if crc32c::crc32c(&h[0..24]) != crc {
        return Err(corrupt("segment header CRC-32C mismatch"));
    }
    if version == 0 {
        return Err(corrupt("segment format version 0"));
    }
    let word = u32::from_le_bytes([h[12], h[13], h[14], h[15]]);
    let layout = match version {
        1 if word != 0 => return Err(corrupt("unknown segment flags")),
        1 => Layout::V1,
        _ => Layout::V2 { salt: word },
    };
    if h[28..32] != [0; 4] {
        return Err(corrupt("unknown segment flags"));
    }
    let mut base = [0u8; 8];
    base.copy_from_slice(&h[16..24]);
    Ok((u64::from_le_bytes(base), layout))
}

/// A fresh salt for a new segment: random, so that no payload bytes can be
/// made to pass for a frame header of the segment.
fn new_salt() -> u32 {
    use std::hash::BuildHasher;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::collections::hash_map::RandomState::new().hash_one(nanos) as u32
}

/// Creates `dir/<base>.log` with a version-2 header, synced, and syncs the
/// directory. Returns the layout its frames must use.
pub fn create(dir: &Path, base: u64) -> Result<(PathBuf, File, Layout), OpenError> {
    let salt = new_salt();
    let path = dir.join(file_name(base));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    file.write_all(&encode_header(base, salt))
        .and_then(|()| file.sync_all())
        .map_err(|e| io_err(&path, e))?;
    sync_dir(dir)?;
    Ok((path, file, Layout::V2 { salt }))
}

/// Makes a directory's entries (created, renamed, removed files) durable.
pub fn sync_dir(dir: &Path) -> Result<(), OpenError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}
