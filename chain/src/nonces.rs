//! Account nonces: per sender per namespace, counting from 0, strictly in sequence.
//!
//! A signed transaction must carry its account's next nonce. A forced (L1 inbox) entry whose
//! payload is a transaction of its rollup with an account nonce (an Ethereum transaction to an
//! EVM rollup) uses that nonce up too, when it is the next one; any other forced entry uses
//! none. Building, checking and applying a block all go through [`BlockNonces`], so they
//! cannot disagree.

use std::collections::{BTreeMap, HashMap};

use ordo_types::{Address, Transaction};

/// The decided nonce state: the next nonce of every account as of the latest decided block.
pub trait NonceReader {
    /// The next nonce `sender` must use in `namespace`.
    fn next_nonce(&self, sender: &Address, namespace: u64) -> u64;
}

/// Who signed a transaction. A node answers from its verified-sender cache; [`Recover`]
/// recovers every time.
pub trait Senders {
    /// The sender of `tx`, or `None` if its signature recovers to no key.
    fn sender(&self, tx: &Transaction) -> Option<Address>;
}

/// Senders recovered from each signature, for chain `0`.
#[derive(Clone, Copy, Debug)]
pub struct Recover(pub u64);

impl Senders for Recover {
    fn sender(&self, tx: &Transaction) -> Option<Address> {
        tx.recover_sender(self.0).ok()
    }
}

/// An account's next nonce after a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NonceUpdate {
    /// The sender.
    pub sender: Address,
    /// The namespace.
    pub namespace: u64,
    /// The nonce it must use next.
    pub next: u64,
}

/// A nonce table in memory (tests and tools; a node keeps it in its store).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NonceTable(BTreeMap<(Address, u64), u64>);

impl NonceTable {
    /// Records a block's updates.
    pub fn apply(&mut self, updates: &[NonceUpdate]) {
        for u in updates {
            self.0.insert((u.sender, u.namespace), u.next);
        }
    }
}

impl NonceReader for NonceTable {
    fn next_nonce(&self, sender: &Address, namespace: u64) -> u64 {
        self.0.get(&(*sender, namespace)).copied().unwrap_or(0)
    }
}

/// The nonces one block moves, on top of the decided state.
pub(crate) struct BlockNonces<'a> {
    decided: &'a dyn NonceReader,
    moved: HashMap<(Address, u64), u64>,
}

impl<'a> BlockNonces<'a> {
    pub(crate) fn new(decided: &'a dyn NonceReader) -> Self {
        Self {
            decided,
            moved: HashMap::new(),
        }
    }

    fn next(&mut self, sender: Address, namespace: u64) -> &mut u64 {
        let decided = self.decided;
        self.moved
            .entry((sender, namespace))
            .or_insert_with(|| decided.next_nonce(&sender, namespace))
    }

    /// A signed transaction's nonce: it must be the account's next one, which it uses up.
    /// `Err(expected)` otherwise (nothing moves).
    pub(crate) fn signed(
        &mut self,
        sender: Address,
        namespace: u64,
        nonce: u64,
    ) -> Result<(), u64> {
        let next = self.next(sender, namespace);
        if nonce != *next {
            return Err(*next);
        }
        *next = next.saturating_add(1);
        Ok(())
    }

    /// Signed transactions that must all carry their accounts' next nonces, in order (a
    /// bundle's): either all use them up, or, at the first that does not, nothing moves and
    /// `Err(index)` names it.
    pub(crate) fn signed_all(
        &mut self,
        txs: impl IntoIterator<Item = (Address, u64, u64)>,
    ) -> Result<(), usize> {
        let mut undo: Vec<((Address, u64), Option<u64>)> = Vec::new();
        for (i, (sender, namespace, nonce)) in txs.into_iter().enumerate() {
            let key = (sender, namespace);
            if !undo.iter().any(|(k, _)| *k == key) {
                undo.push((key, self.moved.get(&key).copied()));
            }
            if self.signed(sender, namespace, nonce).is_err() {
                for (key, before) in undo {
                    match before {
                        Some(next) => self.moved.insert(key, next),
                        None => self.moved.remove(&key),
                    };
                }
                return Err(i);
            }
        }
        Ok(())
    }

    /// A forced entry that uses `account` (see the module documentation): the nonce moves on
    /// when it is the next one.
    pub(crate) fn forced(&mut self, namespace: u64, account: Option<(Address, u64)>) {
        if let Some((sender, nonce)) = account {
            let next = self.next(sender, namespace);
            if nonce == *next {
                *next = next.saturating_add(1);
            }
        }
    }

    /// The accounts whose nonce moved, in (sender, namespace) order.
    pub(crate) fn into_updates(self) -> Vec<NonceUpdate> {
        let decided = self.decided;
        let mut updates: Vec<NonceUpdate> = self
            .moved
            .into_iter()
            .filter(|((sender, namespace), next)| decided.next_nonce(sender, *namespace) != *next)
            .map(|((sender, namespace), next)| NonceUpdate {
                sender,
                namespace,
                next,
            })
            .collect();
        updates.sort();
        updates
    }
}
