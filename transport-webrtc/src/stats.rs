//! Counters of the data path, read without touching the driver.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters the driver bumps; readers load them with no lock.
#[derive(Debug, Default)]
pub struct Stats {
    pub(crate) packets_received: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    pub(crate) packets_forwarded: AtomicU64,
    pub(crate) bytes_forwarded: AtomicU64,
    pub(crate) keyframe_requests_sent: AtomicU64,
}

/// One reading of [`Stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// RTP packets of published tracks received (after SRTP, RTX unwrapped).
    pub packets_received: u64,
    /// Their payload bytes.
    pub bytes_received: u64,
    /// RTP packets written to subscribe connections (one per subscriber).
    pub packets_forwarded: u64,
    /// Their payload bytes.
    pub bytes_forwarded: u64,
    /// Keyframe requests (PLI/FIR) sent to publishers, after throttling.
    pub keyframe_requests_sent: u64,
}

impl Stats {
    pub(crate) fn received(&self, bytes: usize) {
        self.packets_received.fetch_add(1, Ordering::Relaxed);
        self.bytes_received
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn forwarded(&self, bytes: usize) {
        self.packets_forwarded.fetch_add(1, Ordering::Relaxed);
        self.bytes_forwarded
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn keyframe_requested(&self) {
        self.keyframe_requests_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now (each read atomically; not one consistent cut).
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            packets_received: self.packets_received.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            packets_forwarded: self.packets_forwarded.load(Ordering::Relaxed),
            bytes_forwarded: self.bytes_forwarded.load(Ordering::Relaxed),
            keyframe_requests_sent: self.keyframe_requests_sent.load(Ordering::Relaxed),
        }
    }
}
