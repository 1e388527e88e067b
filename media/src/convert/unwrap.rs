//! 32-bit RTP timestamps → a 64-bit timeline.

/// Extends RTP timestamps across wraps; a step back (reordering) is taken
/// as such, never as a wrap, as long as it is under 2^31.
#[derive(Debug, Default)]
pub struct TimestampUnwrapper {
    last: Option<(u32, u64)>,
}

/// Where the 64-bit timeline starts, so that steps back from the first
/// timestamp stay positive.
const ORIGIN: u64 = 1 << 32;

impl TimestampUnwrapper {
    pub fn unwrap(&mut self, ts: u32) -> u64 {
        let ext = match self.last {
            None => ORIGIN + u64::from(ts),
            Some((last, ext)) => {
                let delta = i64::from(ts.wrapping_sub(last) as i32);
                ext.saturating_add_signed(delta)
            }
        };
        self.last = Some((ts, ext));
        ext
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_forward_and_steps_back_without_jumping() {
        let mut u = TimestampUnwrapper::default();
        let a = u.unwrap(u32::MAX - 10);
        let b = u.unwrap(5);
        assert_eq!(b - a, 16);
        let c = u.unwrap(u32::MAX - 1);
        assert_eq!(b - c, 7);
    }
}
