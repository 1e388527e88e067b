//! A fast hasher for maps keyed by event ids (UUIDs, mostly random bits),
//! seeded per process so crafted ids cannot force collisions across runs.

use std::hash::{BuildHasher, Hasher};

/// Builds [`IdHasher`]s with this process's seed.
#[derive(Clone, Copy, Debug)]
pub struct IdState {
    seed: u64,
}

impl Default for IdState {
    fn default() -> Self {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let seed =
            *SEED.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0u64));
        Self { seed }
    }
}

impl BuildHasher for IdState {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(self.seed)
    }
}

/// Multiply-rotate mixing over 8-byte words (FxHash style), then the
/// splitmix64 finalizer so every input bit reaches the low bits the table
/// indexes by.
#[derive(Clone, Copy, Debug)]
pub struct IdHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_usize(n as usize);
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(23) ^ n as u64).wrapping_mul(K);
    }

    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::IdState;

    #[test]
    fn sequential_ids_spread_over_low_bits() {
        let state = IdState::default();
        let buckets: HashSet<u64> = (0..4096u64)
            .map(|n| state.hash_one(uuid::Uuid::from_u64_pair(1, n)) & 0xfff)
            .collect();
        assert!(
            buckets.len() > 2000,
            "only {} of 4096 buckets used",
            buckets.len()
        );
    }
}
