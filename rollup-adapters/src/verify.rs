//! Offline verification of a namespace slice against a trusted validator set. Pure: no I/O.

use std::collections::BTreeMap;
use std::path::Path;

use ordo_enc::{DecryptionKey, EncryptionKey, Identities};
use ordo_types::{
    keccak256, Address, CommitCertificate, Entry, Header, Opened, OpenedEntry, PlacedBundle,
    Sealed, ValidatorSet, B256,
};
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, GenesisError};
use crate::wire::{Handover, NamespaceBlock};

/// The trust root of a rollup client: a genesis file
/// `{"chain_id", "genesis_time_ms", "validators": [...]}` (other fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Genesis {
    /// The Ordo network's chain id.
    pub chain_id: u64,
    /// Unix milliseconds of the network's start.
    pub genesis_time_ms: u64,
    /// The genesis committee (checked by [`ValidatorSet`]'s rules when parsed).
    pub validators: ValidatorSet,
    /// The registered rollups, if the file lists them.
    #[serde(default)]
    pub rollups: Vec<RegisteredRollup>,
}

/// A rollup registered in the genesis file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredRollup {
    /// Its namespace id.
    pub namespace: u64,
    /// A human-readable name.
    pub name: String,
    /// Its adapter kind (`raw` or `evm`, see [`crate::adapter_for`]).
    pub adapter: String,
    /// The EVM chain id its transactions must be signed for (`evm` rollups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
    /// Whether it takes encrypted transactions (docs/ENCRYPTION.md): their content is opened
    /// only once their place is decided, and one that does not open reaches the rollup as a
    /// failed decryption, which its execution must handle.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
}

impl Genesis {
    /// Parses a genesis from JSON text.
    pub fn from_json(text: &str) -> Result<Self, GenesisError> {
        Ok(serde_json::from_str(text)?)
    }

    /// The registration of namespace `namespace`, if any.
    pub fn rollup(&self, namespace: u64) -> Option<&RegisteredRollup> {
        self.rollups.iter().find(|r| r.namespace == namespace)
    }

    /// Reads and parses a genesis file.
    pub fn load(path: &Path) -> Result<Self, GenesisError> {
        let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }
}

/// Checks namespace slices against a chain id and a trusted validator set — never against
/// anything the node says about itself.
#[derive(Debug, Clone)]
pub struct Verifier {
    chain_id: u64,
    validators: ValidatorSet,
    validators_hash: B256,
    /// The first height the trusted committee decides.
    since: u64,
    /// The encryption keys released decryption keys are checked against, by the commitment
    /// a header names them with (`Header::encryption_key_hash`); `None` delivers encrypted
    /// transactions as their envelopes.
    encryption: Option<BTreeMap<B256, EncryptionKey>>,
}

impl Verifier {
    /// A verifier trusting `validators` for chain `chain_id` from height 1.
    pub fn new(chain_id: u64, validators: ValidatorSet) -> Self {
        Self::since(chain_id, validators, 1)
    }

    /// A verifier trusting `validators` for chain `chain_id` from height `since` on (a trust
    /// root other than genesis, such as the committee the L1 light client holds).
    pub fn since(chain_id: u64, validators: ValidatorSet, since: u64) -> Self {
        Self {
            chain_id,
            validators_hash: validators.hash(),
            validators,
            since,
            encryption: None,
        }
    }

    /// A verifier trusting the genesis committee.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        Self::new(genesis.chain_id, genesis.validators.clone())
    }

    /// This verifier, also checking the encrypted transactions' openings, each block's
    /// against the key its certified header commits to; it holds none yet
    /// ([`Self::add_key`]).
    pub fn with_openings(self) -> Self {
        Self {
            encryption: Some(self.encryption.unwrap_or_default()),
            ..self
        }
    }

    /// [`Self::with_openings`], holding `key`.
    pub fn with_encryption(mut self, key: EncryptionKey) -> Self {
        self = self.with_openings();
        self.add_key(key);
        self
    }

    /// Holds `key`, for the blocks whose headers commit to it (a key no header commits to is
    /// never used). Does nothing while openings are not checked.
    pub fn add_key(&mut self, key: EncryptionKey) {
        if let Some(keys) = &mut self.encryption {
            keys.insert(key.commitment(), key);
        }
    }

    /// The commitment to the key `header`'s block opens under, when openings are checked and
    /// this verifier does not hold that key.
    pub fn missing_key(&self, header: &Header) -> Option<B256> {
        let keys = self.encryption.as_ref()?;
        let commitment = header.encryption_key_hash;
        (!commitment.is_zero() && !keys.contains_key(&commitment)).then_some(commitment)
    }

    /// Checks `opened` is the opening of every encrypted transaction among `transactions`:
    /// one per such entry, in order, each with the identity the entry's visible fields make,
    /// a key that is that identity's key under the encryption key the certified `header`
    /// commits to (one batched check), and the outcome that key gives. Without openings
    /// checked nothing opened is kept.
    fn check_opened(
        &self,
        namespace: u64,
        header: &Header,
        transactions: &[Entry],
        opened: Vec<OpenedEntry>,
    ) -> Result<Vec<OpenedEntry>, ClientError> {
        let height = header.height;
        let bad = |why: String| Err(ClientError::BadOpening(why));
        let Some(keys) = &self.encryption else {
            return Ok(Vec::new());
        };
        // Every encrypted entry whose sender recovers (one sent through the L1 inbox may not;
        // it is then no one's, and not opened).
        let sealed: Vec<(usize, Address, u64, Sealed)> = transactions
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let tx = e.encrypted(namespace)?;
                let sender = tx.recover_sender(self.chain_id).ok()?;
                Some((i, sender, tx.nonce(), tx.sealed()?))
            })
            .collect();
        if sealed.is_empty() && opened.is_empty() {
            return Ok(opened);
        }
        if opened.is_empty() {
            return Err(ClientError::Unopened { height });
        }
        let commitment = header.encryption_key_hash;
        let Some(epoch) = keys.get(&commitment) else {
            return Err(ClientError::UnknownEncryptionKey { height, commitment });
        };
        if opened.len() != sealed.len() {
            return bad(format!(
                "{} openings for {} encrypted transactions",
                opened.len(),
                sealed.len()
            ));
        }
        let mut identities = Vec::with_capacity(sealed.len());
        let mut keys = Vec::with_capacity(sealed.len());
        for ((index, sender, nonce, s), o) in sealed.iter().zip(&opened) {
            if o.namespace != namespace || o.index as usize != *index {
                return bad(format!("an opening for entry {} where {index} is", o.index));
            }
            let identity = s.identity(self.chain_id, namespace, *sender, *nonce);
            if o.identity != identity {
                return bad(format!("entry {index} has another identity"));
            }
            let key = DecryptionKey::from_bytes(&o.key)
                .map_err(|e| ClientError::BadOpening(format!("entry {index}: {e}")))?;
            let outcome = match ordo_enc::open(&key, s) {
                Ok(payload) => Opened::Plaintext(payload),
                Err(why) => Opened::Failure(why.into()),
            };
            if outcome != o.outcome {
                return bad(format!("entry {index} does not open as served"));
            }
            identities.push(identity);
            keys.push(key);
        }
        let ids = Identities::hash(&identities);
        if !ordo_enc::verify_keys(&mut rand_010::rng(), &epoch.public, &ids, &keys) {
            return bad("a key is not its identity's key under the epoch key".into());
        }
        Ok(opened)
    }

    /// The trusted chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The trusted validator set.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// The hash of the trusted validator set.
    pub fn validators_hash(&self) -> B256 {
        self.validators_hash
    }

    /// The first height the trusted validator set decides.
    pub fn trusted_since(&self) -> u64 {
        self.since
    }

    /// Moves trust to the committee `handover` names. Its header must be on the trusted chain,
    /// at or after the height trust starts from, name the trusted committee, be certified by
    /// more than 2/3 of that committee's power, and name as next the committee it carries
    /// (another one). Nothing changes when it fails.
    pub fn hand_over(&mut self, handover: Handover) -> Result<(), ClientError> {
        let Handover {
            header,
            certificate,
            next,
        } = handover;
        if header.height < self.since {
            return Err(ClientError::HeightMismatch {
                expected: self.since,
                got: header.height,
                what: "handover",
            });
        }
        if certificate.height != header.height {
            return Err(ClientError::HeightMismatch {
                expected: header.height,
                got: certificate.height,
                what: "certificate",
            });
        }
        self.check_certified(&header, header.hash(), &certificate)?;
        let next_hash = next.hash();
        if next_hash != header.next_validators_hash || next_hash == self.validators_hash {
            return Err(ClientError::UnknownValidatorSet {
                header: next_hash,
                trusted: header.next_validators_hash,
            });
        }
        // The encryption keys stay: they are trusted by the headers that name them.
        *self = Self {
            encryption: self.encryption.take(),
            ..Self::since(self.chain_id, next, header.height.saturating_add(1))
        };
        Ok(())
    }

    /// Checks that `certificate` decided `header` (whose hash is `hash`) on the trusted chain:
    /// it signs that hash, the header names the trusted committee, and the certificate holds
    /// valid precommits from members with more than 2/3 of its voting power.
    fn check_certified(
        &self,
        header: &Header,
        hash: B256,
        certificate: &CommitCertificate,
    ) -> Result<(), ClientError> {
        if header.chain_id != self.chain_id {
            return Err(ClientError::ChainIdMismatch {
                expected: self.chain_id,
                got: header.chain_id,
            });
        }
        if certificate.block_hash != hash {
            return Err(ClientError::HeaderHashMismatch {
                header: hash,
                claimed: certificate.block_hash,
                what: "certificate",
            });
        }
        if header.validators_hash != self.validators_hash {
            return Err(ClientError::UnknownValidatorSet {
                header: header.validators_hash,
                trusted: self.validators_hash,
            });
        }
        certificate
            .verify(self.chain_id, &self.validators)
            .map_err(ClientError::CertificateInvalid)
    }

    /// Checks that `block` is namespace `namespace`'s complete slice of the block decided at
    /// `height`:
    /// 1. it is for the namespace and height asked, on the trusted chain;
    /// 2. the header hashes to the hash the certificate signs (and the answer claims);
    /// 3. the header names the trusted validator set, and the certificate holds valid
    ///    precommits from members with more than 2/3 of its voting power;
    /// 4. the proof shows the entries are all of the namespace's entries, in order, against
    ///    the header's namespace root (or that the namespace is absent and there are none);
    /// 5. the bundles are all of the block's (they hash to the header's bundle root), and each
    ///    part in this namespace covers exactly the entries it names.
    ///
    /// Cheap checks run first; signatures are checked before the proof.
    pub fn verify(
        &self,
        namespace: u64,
        height: u64,
        block: NamespaceBlock,
    ) -> Result<VerifiedNamespaceBlock, ClientError> {
        let NamespaceBlock {
            namespace: got_namespace,
            height: got_height,
            block_hash,
            namespace_root: _,
            header,
            certificate,
            transactions,
            proof,
            bundles,
            opened,
        } = block;
        if got_namespace != namespace {
            return Err(ClientError::NamespaceMismatch {
                expected: namespace,
                got: got_namespace,
            });
        }
        for (got, what) in [
            (header.height, "header"),
            (certificate.height, "certificate"),
            (got_height, "height field"),
        ] {
            if got != height {
                return Err(ClientError::HeightMismatch {
                    expected: height,
                    got,
                    what,
                });
            }
        }
        let hash = header.hash();
        if block_hash != hash {
            return Err(ClientError::HeaderHashMismatch {
                header: hash,
                claimed: block_hash,
                what: "block_hash field",
            });
        }
        self.check_certified(&header, hash, &certificate)?;
        proof
            .verify(&header.namespace_root, namespace, &transactions)
            .map_err(ClientError::BadProof)?;
        PlacedBundle::check_table(&bundles, &header.bundle_root, namespace, &transactions)
            .map_err(ClientError::BadBundles)?;
        let opened = self.check_opened(namespace, &header, &transactions, opened)?;
        Ok(VerifiedNamespaceBlock {
            namespace,
            block_hash: hash,
            header,
            certificate,
            entries: transactions,
            bundles,
            opened,
        })
    }

    /// [`Verifier::verify`] for JSON text as the API serves it.
    pub fn verify_json(
        &self,
        namespace: u64,
        height: u64,
        json: &[u8],
    ) -> Result<VerifiedNamespaceBlock, ClientError> {
        let block: NamespaceBlock =
            serde_json::from_slice(json).map_err(|e| ClientError::Malformed(e.to_string()))?;
        self.verify(namespace, height, block)
    }
}

/// A namespace's slice of a decided block that passed [`Verifier::verify`]: its entries are
/// all of the namespace's entries in that block, in order, and the block was decided by the
/// trusted committee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNamespaceBlock {
    namespace: u64,
    block_hash: B256,
    header: Header,
    certificate: CommitCertificate,
    entries: Vec<Entry>,
    bundles: Vec<PlacedBundle>,
    opened: Vec<OpenedEntry>,
}

/// One entry of a verified block, in the order its rollup applies them
/// ([`VerifiedNamespaceBlock::delivered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered<'a> {
    /// An encrypted transaction, with what it opened to.
    Opened(&'a Entry, &'a OpenedEntry),
    /// Any other entry (or an encrypted one the client could not check the opening of).
    Plain(&'a Entry),
}

/// The order a rollup applies a namespace's `entries` of the block `block_hash` in, given the
/// `opened` encrypted ones (checked): those by `keccak256(block_hash || identity)`, then the
/// others in block order.
pub fn delivery_order<'a>(
    block_hash: B256,
    entries: &'a [Entry],
    opened: &'a [OpenedEntry],
) -> Vec<Delivered<'a>> {
    let mut ranked: Vec<(B256, Delivered<'a>)> = opened
        .iter()
        .filter_map(|o| {
            let entry = entries.get(o.index as usize)?;
            let rank = keccak256([block_hash.as_slice(), o.identity.as_slice()].concat());
            Some((rank, Delivered::Opened(entry, o)))
        })
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    let mut out: Vec<Delivered<'a>> = ranked.into_iter().map(|(_, d)| d).collect();
    out.extend(
        entries
            .iter()
            .enumerate()
            .filter(|(i, _)| !opened.iter().any(|o| o.index as usize == *i))
            .map(|(_, e)| Delivered::Plain(e)),
    );
    out
}

impl VerifiedNamespaceBlock {
    /// The namespace.
    pub fn namespace(&self) -> u64 {
        self.namespace
    }

    /// The block height.
    pub fn height(&self) -> u64 {
        self.header.height
    }

    /// The block hash (the header's hash, signed by the certificate).
    pub fn block_hash(&self) -> B256 {
        self.block_hash
    }

    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The verified certificate.
    pub fn certificate(&self) -> &CommitCertificate {
        &self.certificate
    }

    /// The namespace's entries, in block order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Every bundle of the block (verified against the header); [`PlacedBundle::part`] finds
    /// this namespace's part of one.
    pub fn bundles(&self) -> &[PlacedBundle] {
        &self.bundles
    }

    /// The encrypted entries as they opened (checked), in entry order.
    pub fn opened(&self) -> &[OpenedEntry] {
        &self.opened
    }

    /// The entries in the order the rollup applies them: first the opened encrypted ones, by
    /// `keccak256(block hash || identity)` (known only once the block is decided, so no
    /// proposer picks it knowing the contents), then the others in block order.
    pub fn delivered(&self) -> Vec<Delivered<'_>> {
        delivery_order(self.block_hash, &self.entries, &self.opened)
    }

    /// The entries, by value.
    pub fn into_entries(self) -> Vec<Entry> {
        self.entries
    }

    /// The hashes of the entries, in block order.
    pub fn tx_hashes(&self) -> Vec<B256> {
        self.entries.iter().map(Entry::hash).collect()
    }

    /// Checks that this block directly follows `previous` (next height, parent hash).
    pub fn check_follows(&self, previous: &VerifiedNamespaceBlock) -> Result<(), ClientError> {
        check_link(previous.height(), previous.block_hash(), &self.header)
    }
}

/// Checks that `header` is at `previous_height + 1` with parent `previous_hash`.
pub(crate) fn check_link(
    previous_height: u64,
    previous_hash: B256,
    header: &Header,
) -> Result<(), ClientError> {
    let expected = previous_height.saturating_add(1);
    if header.height != expected {
        return Err(ClientError::HeightMismatch {
            expected,
            got: header.height,
            what: "sequence",
        });
    }
    if header.parent_hash != previous_hash {
        return Err(ClientError::ParentMismatch {
            height: header.height,
            parent: header.parent_hash,
            previous: previous_hash,
        });
    }
    Ok(())
}
