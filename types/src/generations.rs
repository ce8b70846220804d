//! A cache by hash in two generations (the mempool's verified senders, consensus's verified
//! signatures): it holds at most its capacity, forgets the older half at once when the newer
//! half is full, and never scans.

use std::collections::HashMap;

use alloy_primitives::B256;

/// A map by hash that holds at most its capacity, forgetting the oldest half first.
pub struct Generations<V> {
    current: HashMap<B256, V>,
    previous: HashMap<B256, V>,
    half: usize,
}

impl<V> Generations<V> {
    /// An empty cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            current: HashMap::new(),
            previous: HashMap::new(),
            half: (capacity / 2).max(1),
        }
    }

    /// The value under `hash`, if still held.
    pub fn get(&self, hash: &B256) -> Option<&V> {
        self.current.get(hash).or_else(|| self.previous.get(hash))
    }

    /// Whether `hash` is still held.
    pub fn contains(&self, hash: &B256) -> bool {
        self.get(hash).is_some()
    }

    /// Holds `value` under `hash`, forgetting the older generation if the newer one is full.
    pub fn insert(&mut self, hash: B256, value: V) {
        if self.current.len() >= self.half {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(hash, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u64) -> B256 {
        B256::left_padding_from(&i.to_be_bytes())
    }

    #[test]
    fn holds_at_most_its_capacity_and_forgets_the_oldest_first() {
        let mut cache = Generations::new(4);
        for i in 0..4 {
            cache.insert(h(i), i);
        }
        assert!((0..4).all(|i| cache.get(&h(i)) == Some(&i)));
        cache.insert(h(4), 4);
        cache.insert(h(5), 5);
        // 0 and 1 were the older generation when 4 started a new one.
        assert!(!cache.contains(&h(0)) && !cache.contains(&h(1)));
        assert!((2..6).all(|i| cache.contains(&h(i))));
        assert!(cache.current.len() + cache.previous.len() <= 4);
    }
}
