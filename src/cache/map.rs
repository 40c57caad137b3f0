//! One cache: a bounded map whose entries expire, and which refuses a value
//! read before its last clear.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A safety net: nothing is kept longer than this even if a notification
/// were missed.
const TTL: Duration = Duration::from_secs(30);
/// Beyond this many entries a map starts again, bounding memory.
const MAX_ENTRIES: usize = 10_000;

pub(super) struct Map<K, V> {
    entries: RwLock<HashMap<K, (V, Instant)>>,
    /// The generation (see `Caches::generation`) of this map's last clear.
    cleared_at: AtomicU64,
}

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    pub(super) fn new() -> Self {
        Map {
            entries: RwLock::new(HashMap::new()),
            cleared_at: AtomicU64::new(0),
        }
    }

    pub(super) fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(v, _)| v.clone())
    }

    /// Keeps `value` unless this map was cleared after generation `seen`
    /// was read (the value may then predate the change that cleared it).
    pub(super) fn put(&self, seen: u64, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.cleared_at.load(Ordering::Acquire) > seen {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (value, Instant::now()));
    }
}

/// Clearing, whatever a map holds.
pub(super) trait Clear: Send + Sync {
    /// Drops every entry; `generation` is the new generation, taken before.
    fn clear(&self, generation: u64);
    fn cleared_at(&self) -> u64;
}

impl<K: Eq + Hash + Send + Sync, V: Clone + Send + Sync> Clear for Map<K, V> {
    fn clear(&self, generation: u64) {
        // First the mark, so a read that started before this clear cannot
        // store its result after it.
        self.cleared_at.fetch_max(generation, Ordering::AcqRel);
        self.entries.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn cleared_at(&self) -> u64 {
        self.cleared_at.load(Ordering::Acquire)
    }
}
