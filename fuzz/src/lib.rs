//! Helpers shared by Ordo's fuzz targets (`fuzz_targets/`) and the seed generator
//! (`src/bin/seeds.rs`). See `docs/FUZZING.md`.

use ordo_types::{Decode, Encode};

/// Decodes `bytes` as `T`; if that succeeds, checks that the value encodes back to exactly
/// `bytes` (every `ordo-types` encoding is canonical) and returns it.
pub fn canonical<T: Decode + Encode + core::fmt::Debug>(bytes: &[u8]) -> Option<T> {
    let value = T::decode(bytes).ok()?;
    assert_eq!(
        value.encode(),
        bytes,
        "{} decoded from non-canonical bytes: {value:?}",
        core::any::type_name::<T>()
    );
    assert_eq!(value.encoded_len(), bytes.len());
    Some(value)
}

/// Reads structured values off the front of a fuzz input; past its end, reads give zeros.
pub struct Input<'a>(pub &'a [u8]);

impl<'a> Input<'a> {
    /// One byte.
    pub fn u8(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.array())
    }

    /// `N` bytes (zero-padded past the end).
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    /// A slice of at most `len` bytes.
    pub fn take(&mut self, len: usize) -> &'a [u8] {
        let n = len.min(self.0.len());
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }

    /// A slice whose length is the next `u16` (big-endian).
    pub fn chunk(&mut self) -> &'a [u8] {
        let len = u16::from_be_bytes(self.array()) as usize;
        self.take(len)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.0)
    }

    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Appends `bytes` with the `u16` length prefix [`Input::chunk`] reads.
pub fn put_chunk(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&bytes[..usize::from(len)]);
}

/// L1 logs built from a fuzz input, for the `l1_logs` target. Per log: a flags byte (bit 0:
/// the StakeTable rather than the Inbox, bit 1: another address, bit 2: `removed`, bit 3: no
/// block number), a topic byte (an index into [`event_topics`], or past its end 32 bytes of a
/// raw topic), a count of extra topics (each 32 bytes), the block and log index (a byte each,
/// so logs share blocks and sort), and the data as a [`Input::chunk`].
pub mod l1 {
    use super::Input;
    use alloy::primitives::{Address, LogData, B256};
    use alloy::rpc::types::Log;
    use ordo_l1::{Inbox, StakeTable, WatchedContracts};

    /// The contracts the logs claim to come from.
    pub const CONTRACTS: WatchedContracts = WatchedContracts {
        stake_table: Address::repeat_byte(0x51),
        inbox: Address::repeat_byte(0x1b),
        start_block: 0,
    };

    /// The topics of every event the two contracts emit.
    pub fn event_topics() -> Vec<B256> {
        Inbox::InboxEvents::SELECTORS
            .iter()
            .chain(StakeTable::StakeTableEvents::SELECTORS)
            .map(|s| B256::from(*s))
            .collect()
    }

    /// Reads logs until the input runs out (at most 64).
    pub fn logs(data: &[u8]) -> Vec<Log> {
        let topics = event_topics();
        let mut input = Input(data);
        let mut logs = Vec::new();
        while !input.is_empty() && logs.len() < 64 {
            let flags = input.u8();
            let address = match (flags & 2 != 0, flags & 1 != 0) {
                (true, _) => Address::repeat_byte(0xee),
                (false, false) => CONTRACTS.inbox,
                (false, true) => CONTRACTS.stake_table,
            };
            let pick = usize::from(input.u8());
            let mut log_topics = vec![match topics.get(pick) {
                Some(t) => *t,
                None => B256::from(input.array::<32>()),
            }];
            for _ in 0..input.u8() % 4 {
                log_topics.push(B256::from(input.array::<32>()));
            }
            if pick == 255 {
                log_topics.clear();
            }
            let block = u64::from(input.u8());
            let log_index = u64::from(input.u8());
            let data = input.chunk().to_vec();
            logs.push(Log {
                inner: alloy::primitives::Log {
                    address,
                    data: LogData::new_unchecked(log_topics, data.into()),
                },
                block_number: (flags & 8 == 0).then_some(block),
                log_index: Some(log_index),
                removed: flags & 4 != 0,
                ..Log::default()
            });
        }
        logs
    }
}

/// The independent implementation for the `crypto` target: libsecp256k1 through the
/// `secp256k1` crate, with Ethereum's rules (`v` 27 or 28, low s) on top.
pub mod crypto {
    use super::Input;
    use ordo_types::{SecretKey, B256};
    use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
    use secp256k1::{Message, Secp256k1};

    /// The group order n, big-endian.
    pub const N: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFE, 0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36,
        0x41, 0x41,
    ];

    /// n / 2 (rounded down), the largest low s.
    pub const HALF_N: [u8; 32] = [
        0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B,
        0x20, 0xA0,
    ];

    /// The field prime p, big-endian (an x-coordinate at or past it is no point).
    pub const P: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF,
        0xFC, 0x2F,
    ];

    /// `a - b` for big-endian 256-bit numbers, wrapping.
    pub fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0u16;
        for i in (0..32).rev() {
            let d = u16::from(a[i])
                .wrapping_sub(u16::from(b[i]))
                .wrapping_sub(borrow);
            out[i] = d as u8;
            borrow = u16::from(d > 0xFF);
        }
        out
    }

    fn one(x: u8) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[31] = x;
        out
    }

    /// Whether libsecp256k1 parses `r || s` and Ethereum's rules accept `s` and `v`.
    pub fn parses(sig: &[u8; 65]) -> bool {
        let Some(recid) = recovery_id(sig[64]) else {
            return false;
        };
        let rs = &sig[..64];
        let zero = [0u8; 32];
        // libsecp256k1 parses zero scalars (and then fails to use them); Ethereum refuses them.
        rs[..32] != zero
            && rs[32..] != zero
            && rs[32..] <= HALF_N[..]
            && RecoverableSignature::from_compact(rs, recid).is_ok()
    }

    fn recovery_id(v: u8) -> Option<RecoveryId> {
        match v {
            27 => Some(RecoveryId::Zero),
            28 => Some(RecoveryId::One),
            _ => None,
        }
    }

    /// The public key (`x || y`) that `ecrecover(digest, v, r, s)` returns, if any.
    pub fn reference_recover(digest: &B256, sig: &[u8; 65]) -> Option<[u8; 64]> {
        if !parses(sig) {
            return None;
        }
        let recid = recovery_id(sig[64])?;
        let parsed = RecoverableSignature::from_compact(&sig[..64], recid).ok()?;
        let key = Secp256k1::verification_only()
            .recover_ecdsa(Message::from_digest(digest.0), &parsed)
            .ok()?;
        let mut xy = [0u8; 64];
        xy.copy_from_slice(&key.serialize_uncompressed()[1..]);
        Some(xy)
    }

    /// libsecp256k1's RFC 6979 signature, low s, as `r || s || v`.
    pub fn reference_sign(secret: &[u8; 32], digest: &B256) -> Option<[u8; 65]> {
        let key = secp256k1::SecretKey::from_byte_array(*secret).ok()?;
        let sig =
            Secp256k1::signing_only().sign_ecdsa_recoverable(Message::from_digest(digest.0), &key);
        let (recid, rs) = sig.serialize_compact();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&rs);
        out[64] = 27 + u8::try_from(i32::from(recid)).ok()?;
        Some(out)
    }

    /// An adversarial signature: `r` and `s` from the input or at the edges (zero, one, n/2,
    /// n/2 + 1, n - 1, n, p, all ones, or the high-s twin of a valid signature), `v` from the
    /// input or flipped.
    pub fn adversarial(input: &mut Input<'_>, digest: &B256, key: Option<&SecretKey>) -> [u8; 65] {
        let choice = input.u8();
        let mut sig = [0u8; 65];
        let valid = key.map(|k| k.sign_digest(digest).0);
        let edge = |c: u8, raw: [u8; 32]| -> [u8; 32] {
            match c % 10 {
                0 => [0u8; 32],
                1 => one(1),
                2 => HALF_N,
                3 => sub(&HALF_N, &[0xFF; 32]), // n/2 + 1
                4 => sub(&N, &one(1)),
                5 => N,
                6 => P,
                7 => [0xFF; 32],
                _ => raw,
            }
        };
        let r_raw = input.array::<32>();
        let s_raw = input.array::<32>();
        match (choice >> 4, valid) {
            (0, Some(v)) => {
                // The high-s twin of a valid signature, with the other parity: the same
                // signature to plain ECDSA, refused by Ethereum.
                sig = v;
                let mut s = [0u8; 32];
                s.copy_from_slice(&v[32..64]);
                sig[32..64].copy_from_slice(&sub(&N, &s));
                sig[64] = if v[64] == 27 { 28 } else { 27 };
            }
            (1, Some(v)) => {
                // A valid signature with one byte changed.
                sig = v;
                let at = usize::from(input.u8()) % 65;
                sig[at] ^= input.u8() | 1;
            }
            (2, Some(v)) => {
                // A valid r with an edge s, or the other way round.
                sig = v;
                if choice & 1 == 0 {
                    sig[32..64].copy_from_slice(&edge(choice >> 1, s_raw));
                } else {
                    sig[..32].copy_from_slice(&edge(choice >> 1, r_raw));
                }
            }
            _ => {
                sig[..32].copy_from_slice(&edge(choice, r_raw));
                sig[32..64].copy_from_slice(&edge(choice >> 4 ^ choice, s_raw));
                sig[64] = 27 + (choice & 1);
            }
        }
        if choice & 0x08 != 0 && input.u8() & 1 == 1 {
            sig[64] = input.u8();
        }
        sig
    }
}
