//! Numbers filed by the key each stands for, the keys kept elsewhere.

use std::hash::{BuildHasher as _, Hash};

use crate::FastState;

/// Numbers (indexes into rows, groups or texts a caller keeps) filed by
/// their keys, each key read through the caller's `key_of` when compared.
/// A map holding each key beside its number is several times larger: on an
/// account's thousands of rows or a million listings it outgrew the cache,
/// and storing into a new slot was a cache miss per new key (half of adding
/// a unit to a table, two thirds of grouping feedback by identity).
#[derive(Default)]
pub(crate) struct Numbers {
    table: hashbrown::HashTable<usize>,
    hasher: FastState,
}

impl Numbers {
    /// Room for `n` numbers without growing (grown by doubling, a million
    /// entries were hashed and moved again and again).
    pub(crate) fn with_capacity(n: usize) -> Numbers {
        Numbers { table: hashbrown::HashTable::with_capacity(n), hasher: FastState::default() }
    }

    /// Room for `more` numbers besides those filed (number `n`'s key is
    /// `key_of(n)`).
    pub(crate) fn reserve<K: Hash>(&mut self, more: usize, key_of: impl Fn(usize) -> K) {
        let hasher = &self.hasher;
        self.table.reserve(more, |&n| hasher.hash_one(key_of(n)));
    }

    /// The number filed under `key`, else `new` filed under it: the number
    /// and whether it is `new`. `key_of` is asked only of numbers filed
    /// before, so the caller may add `new`'s key after.
    pub(crate) fn find_or_file<K: Hash + PartialEq>(&mut self, key: K, new: usize, key_of: impl Fn(usize) -> K) -> (usize, bool) {
        let (hash, hasher) = (self.hasher.hash_one(&key), &self.hasher);
        if let Some(&n) = self.table.find(hash, |&n| key_of(n) == key) {
            return (n, false);
        }
        self.table.insert_unique(hash, new, |&n| hasher.hash_one(key_of(n)));
        (new, true)
    }

    /// Files `n` under `key`, in place of a number filed under it before (as
    /// a map's insert would).
    pub(crate) fn file<K: Hash + PartialEq>(&mut self, key: K, n: usize, key_of: impl Fn(usize) -> K) {
        let hasher = &self.hasher;
        match self.table.entry(hasher.hash_one(&key), |&q| key_of(q) == key, |&q| hasher.hash_one(key_of(q))) {
            hashbrown::hash_table::Entry::Occupied(mut e) => *e.get_mut() = n,
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(n);
            }
        }
    }
}
