//! Node configuration (one TOML file per node), the genesis file and key files.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use ordo_api::ApiConfig;
use ordo_chain::BlockLimits;
use ordo_consensus::TimingConfig;
use ordo_l1::{PrivateKeySigner, RpcConfig, WatchConfig};
use ordo_mempool::{GossipConfig, MempoolConfig};
use ordo_rollup_adapters::RegisteredRollup;
use ordo_types::{Address, SecretKey, ValidatorSet, B256};
use serde::{Deserialize, Serialize};

/// The configuration of one node: `HOME/config.toml`. Paths are relative to the node's home.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct NodeConfig {
    /// Node name, for logs and the devnet listing.
    pub(crate) moniker: String,
    /// The genesis file.
    pub(crate) genesis: PathBuf,
    /// The validator key file; absent for a full node.
    pub(crate) validator_key: Option<PathBuf>,
    /// The libp2p identity key file (created on first start if missing).
    pub p2p_key: PathBuf,
    /// Where the block store and the consensus WAL live.
    pub(crate) data_dir: PathBuf,
    /// Peer-to-peer networking (consensus).
    pub(crate) p2p: P2pConfig,
    /// Transaction gossip between nodes' mempools.
    pub(crate) gossip: GossipConfig,
    /// HTTP API.
    pub(crate) api: ApiConfig,
    /// Consensus timing.
    pub(crate) timing: TimingConfig,
    /// Block limits.
    pub(crate) limits: BlockLimits,
    /// Mempool limits.
    pub(crate) mempool: MempoolConfig,
    /// The L1 (used when the genesis names one).
    pub(crate) l1: L1Config,
    /// Test-only: make this node misbehave (see `ProposerFault`). Exists only in builds with
    /// the `byzantine` feature; a default build refuses the key.
    #[cfg(feature = "byzantine")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) test_fault: Option<ordo_consensus::ProposerFault>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            moniker: "node".into(),
            genesis: "genesis.json".into(),
            validator_key: None,
            p2p_key: "p2p_key.json".into(),
            data_dir: "data".into(),
            p2p: P2pConfig::default(),
            gossip: GossipConfig::default(),
            api: ApiConfig::default(),
            timing: TimingConfig::default(),
            limits: BlockLimits::default(),
            mempool: MempoolConfig::default(),
            l1: L1Config::default(),
            #[cfg(feature = "byzantine")]
            test_fault: None,
        }
    }
}

/// How the node reaches and reads the L1.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct L1Config {
    /// Submit equivocation evidence to `StakeTable.slash`, paid by (and rewarding) the
    /// validator key's account.
    pub(crate) slash: bool,
    /// RPC endpoints, timeouts, retries.
    pub(crate) rpc: RpcConfig,
    /// Confirmation depth and polling. `lookahead_blocks` is also the L1 origin tolerance: how
    /// far above this node's confirmed L1 block a proposed origin may be.
    pub(crate) watch: WatchConfig,
}

/// Peer-to-peer settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct P2pConfig {
    /// libp2p listen address.
    pub(crate) listen: String,
    /// Peers to connect to and stay connected with (libp2p multiaddrs).
    pub(crate) peers: Vec<String>,
}

impl Default for P2pConfig {
    fn default() -> Self {
        Self {
            listen: "/ip4/127.0.0.1/tcp/26650".into(),
            peers: Vec::new(),
        }
    }
}

impl NodeConfig {
    /// Reads `HOME/config.toml`.
    pub(crate) fn load(home: &Path) -> anyhow::Result<Self> {
        let path = home.join("config.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Writes `HOME/config.toml`.
    pub(crate) fn save(&self, home: &Path) -> anyhow::Result<()> {
        write_new(&home.join("config.toml"), &toml::to_string_pretty(self)?)
    }
}

/// The genesis file: the chain id, its start time and the first committee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Genesis {
    /// Chain id, signed into every transaction and vote.
    pub(crate) chain_id: u64,
    /// Unix milliseconds; the first block's timestamp is after it.
    pub(crate) genesis_time_ms: u64,
    /// The committee.
    pub(crate) validators: ValidatorSet,
    /// The registered rollups: transactions for any other namespace are refused.
    pub(crate) rollups: Vec<RegisteredRollup>,
    /// The L1 contracts; absent for a network without an L1 (no force inclusion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) l1: Option<GenesisL1>,
    /// The encrypted lane: its committee generates the key on the chain, in rounds of four
    /// windows of `window` blocks (docs/ENCRYPTION.md); absent for a network without the lane.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) encryption: Option<ordo_chain::KeygenParams>,
}

/// The L1 side of a network, fixed at genesis: every node must read the same contracts and
/// apply the same inclusion delay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GenesisL1 {
    /// The L1's chain id (checked against the RPC endpoint at start).
    pub(crate) chain_id: u64,
    /// `StakeTable` address.
    pub(crate) stake_table: Address,
    /// `Inbox` address.
    pub(crate) inbox: Address,
    /// `LightClient` address.
    pub(crate) light_client: Address,
    /// `BatchInbox` address, where the decided chain is posted (absent in genesis files
    /// written before it existed: then nothing is posted or read there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) batch_inbox: Option<Address>,
    /// First L1 block to read (the deployment block).
    pub(crate) start_block: u64,
    /// The `Inbox`'s `inclusionDelay`, L1 blocks.
    pub(crate) inclusion_delay: u64,
    /// Ordo blocks per epoch; 0 turns elections off (the genesis committee stays).
    #[serde(default)]
    pub(crate) epoch_length: u64,
    /// Epochs from an election to the committee it elects taking over.
    #[serde(default = "default_activation_epochs")]
    pub(crate) activation_epochs: u64,
    /// Most validators in a committee.
    #[serde(default = "default_max_committee")]
    pub(crate) max_committee: usize,
    /// Least operator self-stake for election, wei (decimal string).
    #[serde(default = "default_min_stake")]
    pub(crate) min_stake_wei: String,
}

fn default_activation_epochs() -> u64 {
    2
}

fn default_max_committee() -> usize {
    100
}

fn default_min_stake() -> String {
    "1000000000000000000".into()
}

impl GenesisL1 {
    /// The election parameters, when elections are on.
    pub(crate) fn election(&self) -> anyhow::Result<Option<ordo_chain::ElectionParams>> {
        if self.epoch_length == 0 {
            return Ok(None);
        }
        Ok(Some(ordo_chain::ElectionParams {
            epoch_length: self.epoch_length,
            activation_epochs: self.activation_epochs,
            max_committee: self.max_committee,
            min_stake: self.min_stake_wei.parse().with_context(|| {
                format!("min_stake_wei {:?} is not a number", self.min_stake_wei)
            })?,
        }))
    }
}

impl Genesis {
    /// Reads a genesis file.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// A key file: `{"address": "0x..", "secret_key": "0x.."}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyFile {
    /// The key's Ethereum address (checked on load).
    pub(crate) address: Address,
    /// The 32-byte secret.
    pub(crate) secret_key: B256,
}

impl KeyFile {
    /// The key file for `key`.
    pub(crate) fn new(key: &SecretKey) -> Self {
        Self {
            address: key.address(),
            secret_key: B256::from(key.to_bytes()),
        }
    }

    /// Reads a secp256k1 key file and checks its address.
    pub(crate) fn load(path: &Path) -> anyhow::Result<SecretKey> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file: KeyFile =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let key = SecretKey::from_bytes(&file.secret_key.0)?;
        if key.address() != file.address {
            bail!("{}: address does not match the secret key", path.display());
        }
        Ok(key)
    }

    /// Writes the key file, readable by its owner only.
    pub(crate) fn save(&self, path: &Path) -> anyhow::Result<()> {
        write_secret(path, &serde_json::to_string_pretty(self)?)
    }
}

/// The signer of L1 transactions for `key`'s account.
pub(crate) fn l1_signer(key: &SecretKey) -> anyhow::Result<PrivateKeySigner> {
    PrivateKeySigner::from_bytes(&key.to_bytes().into()).context("not a valid secp256k1 key")
}

impl GenesisL1 {
    /// The `l1` section of the genesis at `path`.
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        Genesis::load(path)?
            .l1
            .with_context(|| format!("{} names no L1", path.display()))
    }
}

/// Loads the 32-byte libp2p secret at `path`, creating it if missing.
pub(crate) fn load_or_create_p2p_secret(path: &Path) -> anyhow::Result<[u8; 32]> {
    if path.exists() {
        let text = std::fs::read_to_string(path)?;
        let hex: String =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let secret: B256 = hex
            .parse()
            .with_context(|| format!("{}: not a 32-byte hex string", path.display()))?;
        return Ok(secret.0);
    }
    let secret: [u8; 32] = rand::random();
    write_secret(
        path,
        &serde_json::to_string(&B256::from(secret).to_string())?,
    )?;
    Ok(secret)
}

fn write_new(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

fn write_secret(path: &Path, contents: &str) -> anyhow::Result<()> {
    write_new(path, contents)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A release build (no `byzantine` feature) refuses a test fault in its config, so a
    /// production node cannot be made to misbehave by a config line. `make test` runs this
    /// test in both builds.
    #[test]
    fn test_faults_parse_only_in_byzantine_builds() {
        let parsed = toml::from_str::<NodeConfig>("test_fault = \"vote_nil\"");
        assert_eq!(parsed.is_ok(), cfg!(feature = "byzantine"), "{parsed:?}");
    }

    #[test]
    fn example_config_parses_and_matches_the_defaults() {
        let text = include_str!("../config.example.toml");
        let parsed: NodeConfig = toml::from_str(text).unwrap();
        assert_eq!(parsed, NodeConfig::default());
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(toml::from_str::<NodeConfig>("monikr = \"x\"").is_err());
    }

    #[test]
    fn key_file_round_trip_and_tamper_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        let key = SecretKey::random();
        KeyFile::new(&key).save(&path).unwrap();
        assert_eq!(KeyFile::load(&path).unwrap().address(), key.address());
        let mut file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        file["address"] = serde_json::json!(Address::ZERO);
        std::fs::write(&path, file.to_string()).unwrap();
        assert!(KeyFile::load(&path).is_err());
    }
}
