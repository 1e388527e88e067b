//! Time as data: the domain never reads a clock; commands carry the moment.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A moment, in **microseconds since the Unix epoch** (UTC).
///
/// Comes inside commands (`at`, `now`) from the caller's clock, so `decide` stays
/// pure and replays are exact. Microseconds match the event log's
/// `recorded_at_us`.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Self = Self(0);

    /// From microseconds since the Unix epoch.
    pub const fn from_unix_micros(us: i64) -> Self {
        Self(us)
    }

    /// From whole seconds since the Unix epoch (saturating).
    pub const fn from_unix_seconds(s: i64) -> Self {
        Self(s.saturating_mul(1_000_000))
    }

    /// Microseconds since the Unix epoch.
    pub const fn unix_micros(self) -> i64 {
        self.0
    }

    /// This moment plus whole seconds (saturating).
    pub const fn plus_seconds(self, s: i64) -> Self {
        Self(self.0.saturating_add(s.saturating_mul(1_000_000)))
    }

    /// Microseconds from `earlier` to `self` (negative if `earlier` is later).
    pub const fn micros_since(self, earlier: Self) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}us", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_unix_seconds(10);
        assert_eq!(t.unix_micros(), 10_000_000);
        assert_eq!(t.plus_seconds(5).micros_since(t), 5_000_000);
        assert_eq!(
            Timestamp::from_unix_micros(i64::MAX)
                .plus_seconds(1)
                .unix_micros(),
            i64::MAX
        );
    }
}
