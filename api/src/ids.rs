//! Server-generated ids: 24 hex digits like MongoDB ObjectIds (4 bytes of
//! seconds, 5 random bytes per generator, a 3-byte counter), so ids of one
//! server grow with creation time and list in creation order.

use std::sync::atomic::{AtomicU32, Ordering};

use rand::RngCore;

/// Makes ObjectId-like ids; one per server.
#[derive(Debug)]
pub struct IdGen {
    node: [u8; 5],
    counter: AtomicU32,
}

impl Default for IdGen {
    fn default() -> Self {
        Self::new()
    }
}

impl IdGen {
    pub fn new() -> Self {
        let mut node = [0u8; 5];
        rand::rng().fill_bytes(&mut node);
        Self {
            node,
            counter: AtomicU32::new(rand::rng().next_u32() & 0x00ff_ffff),
        }
    }

    /// A new id for a moment given in Unix seconds.
    pub fn next(&self, unix_seconds: i64) -> String {
        let secs = u32::try_from(unix_seconds.max(0)).unwrap_or(u32::MAX);
        let n = self.counter.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
        let mut out = format!("{secs:08x}");
        for b in self.node {
            out.push_str(&format!("{b:02x}"));
        }
        out.push_str(&format!("{n:06x}"));
        out
    }
}

/// A room code: `xxx-xxxx-xxx` of lowercase letters (10 letters).
pub fn room_code() -> String {
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let mut s = String::with_capacity(12);
    for i in 0..10 {
        if i == 3 || i == 7 {
            s.push('-');
        }
        s.push(A[(rng.next_u32() % 26) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_24_hex_and_increase() {
        let g = IdGen::new();
        let a = g.next(1_800_000_000);
        let b = g.next(1_800_000_000);
        assert_eq!(a.len(), 24);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(b > a || b[18..] == *"000000");
    }

    #[test]
    fn codes_have_the_100ms_shape() {
        let c = room_code();
        assert_eq!(c.len(), 12);
        assert_eq!(&c[3..4], "-");
        assert_eq!(&c[8..9], "-");
    }
}
