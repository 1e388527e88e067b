//! Keyframe-request throttling: many subscribers asking for a keyframe of the
//! same track within a short window cost the publisher one request.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Allows one request per key per `interval`. Sans-IO: the caller passes `now`.
#[derive(Debug)]
pub struct KeyframeThrottle<K> {
    interval: Duration,
    last: HashMap<K, Instant>,
}

impl<K: Eq + Hash> KeyframeThrottle<K> {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: HashMap::new(),
        }
    }

    /// True when a request for `key` may go upstream now (and records it).
    pub fn allow(&mut self, key: K, now: Instant) -> bool {
        match self.last.get(&key) {
            Some(&t) if now.saturating_duration_since(t) < self.interval => false,
            _ => {
                self.last.insert(key, now);
                true
            }
        }
    }

    /// Forgets a key (its track is gone).
    pub fn forget(&mut self, key: &K) {
        self.last.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_interval_per_key() {
        let mut t = KeyframeThrottle::new(Duration::from_millis(500));
        let t0 = Instant::now();
        assert!(t.allow("a", t0));
        assert!(!t.allow("a", t0 + Duration::from_millis(100)));
        assert!(t.allow("b", t0 + Duration::from_millis(100)));
        assert!(!t.allow("a", t0 + Duration::from_millis(499)));
        assert!(t.allow("a", t0 + Duration::from_millis(500)));
        t.forget(&"a");
        assert!(t.allow("a", t0 + Duration::from_millis(501)));
    }
}
