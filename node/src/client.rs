//! Client commands: `ordo keys new`, `ordo tx send`, `ordo tx status`, `ordo bundle send`,
//! `ordo bundle status`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use ordo_types::{Address, Bytes, SecretKey, Transaction, B256};
use serde_json::Value;

use crate::config::KeyFile;

/// `ordo keys ...`
#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a new secp256k1 key file (`{"address", "secret_key"}`, mode 0600).
    New {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `ordo tx ...`
#[derive(Subcommand)]
pub(crate) enum TxCommand {
    /// Sign and submit a transaction.
    Send(SendArgs),
    /// Show what happened to a transaction.
    Status {
        /// Transaction hash.
        hash: B256,
        /// Node API URL.
        #[arg(long, default_value = "http://127.0.0.1:8650")]
        node: String,
    },
}

/// `ordo bundle ...`
#[derive(Subcommand)]
pub(crate) enum BundleCommand {
    /// Submit a bundle: a JSON file as `POST /v1/bundles` takes it (`txs` already signed, each
    /// with its sender in `from`; `maxHeight` or `blockNumber` or `maxTimestamp`, optional
    /// `minTimestamp`, `revertingTxHashes`, `replacementUuid`). Prints the bundle hash.
    Send {
        /// Node API URL.
        #[arg(long, default_value = "http://127.0.0.1:8650")]
        node: String,
        /// The bundle file (`-` for standard input).
        #[arg(long)]
        file: PathBuf,
        /// The sender (`from`) of every transaction in the file that names none: the node
        /// refuses the bundle unless their signatures recover to it.
        #[arg(long)]
        from: Option<Address>,
        /// Wait until the bundle is included (or can no longer be) and print the outcome.
        #[arg(long)]
        wait: bool,
    },
    /// Show what happened to a bundle.
    Status {
        /// Bundle hash.
        hash: B256,
        /// Node API URL.
        #[arg(long, default_value = "http://127.0.0.1:8650")]
        node: String,
    },
}

#[derive(Args)]
pub(crate) struct SendArgs {
    /// Node API URL.
    #[arg(long, default_value = "http://127.0.0.1:8650")]
    node: String,
    /// Key file of the sender.
    #[arg(long)]
    key: PathBuf,
    /// Namespace (rollup) id.
    #[arg(long)]
    namespace: u64,
    /// Payload as 0x-hex.
    #[arg(long, conflicts_with = "file", required_unless_present = "file")]
    data: Option<Bytes>,
    /// Payload from a file.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Nonce; by default the node's next nonce for this sender and namespace.
    #[arg(long)]
    nonce: Option<u64>,
    /// Wait until the transaction is included and print its height.
    #[arg(long)]
    wait: bool,
    /// Seal the payload to the network's encryption key (`GET /v1/encryption`), so that no
    /// one sees it before its place is decided (docs/ENCRYPTION.md). For an EVM rollup the
    /// payload is a signed Ethereum transaction of the key file's account; the envelope takes
    /// its nonce.
    #[arg(long)]
    encrypt: bool,
}

pub(crate) fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::New { out } => {
            if out.exists() {
                bail!("{} exists; not overwriting a key", out.display());
            }
            let key = SecretKey::random();
            KeyFile::new(&key).save(&out)?;
            println!("{}", key.address());
            Ok(())
        }
    }
}

async fn get(client: &reqwest::Client, url: String) -> anyhow::Result<Value> {
    let resp = client.get(&url).send().await.with_context(|| url.clone())?;
    let status = resp.status();
    let body: Value = resp.json().await.with_context(|| url.clone())?;
    if !status.is_success() {
        bail!("{url}: {status}: {body}");
    }
    Ok(body)
}

/// POSTs a submission; its answer, or an error with the node's code and message.
async fn submit(client: &reqwest::Client, url: String, body: &Value) -> anyhow::Result<Value> {
    let resp = client
        .post(&url)
        .json(body)
        .send()
        .await
        .with_context(|| url.clone())?;
    let status = resp.status();
    let answer: Value = resp.json().await.with_context(|| url.clone())?;
    if !status.is_success() {
        bail!("refused: {} {}", answer["code"], answer["message"]);
    }
    Ok(answer)
}

pub(crate) async fn tx(command: TxCommand) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    match command {
        TxCommand::Status { hash, node } => {
            let status = get(&client, format!("{node}/v1/transactions/{hash}")).await?;
            println!("{status}");
            Ok(())
        }
        TxCommand::Send(args) => send(&client, args).await,
    }
}

pub(crate) async fn bundle(command: BundleCommand) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    match command {
        BundleCommand::Status { hash, node } => {
            let node = node.trim_end_matches('/');
            println!(
                "{}",
                get(&client, format!("{node}/v1/bundles/{hash}")).await?
            );
            Ok(())
        }
        BundleCommand::Send {
            node,
            file,
            from,
            wait,
        } => {
            let node = node.trim_end_matches('/');
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            let mut body: Value = serde_json::from_str(&text).context("the bundle file")?;
            if let Some(from) = from {
                name_sender(&mut body, from);
            }
            let answer = submit(&client, format!("{node}/v1/bundles"), &body).await?;
            let hash = answer["hash"].as_str().context("no hash in the answer")?;
            println!("{hash}");
            if !wait {
                return Ok(());
            }
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let status = get(&client, format!("{node}/v1/bundles/{hash}")).await?;
                match status["status"].as_str() {
                    Some("included") => {
                        println!("included at height {}", status["height"]);
                        return Ok(());
                    }
                    Some("pending") if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(100)).await
                    }
                    _ => bail!("not included: {status}"),
                }
            }
        }
    }
}

/// Sets `from` on every transaction of a bundle body that names no sender.
fn name_sender(bundle: &mut Value, from: Address) {
    let items = bundle.get_mut("txs").and_then(Value::as_array_mut);
    for item in items.into_iter().flatten() {
        if let Some(item) = item.as_object_mut() {
            item.entry("from")
                .or_insert_with(|| from.to_string().into());
        }
    }
}

async fn send(client: &reqwest::Client, args: SendArgs) -> anyhow::Result<()> {
    let key = KeyFile::load(&args.key)?;
    let payload = match (args.data, args.file) {
        (Some(data), _) => data,
        (None, Some(file)) => Bytes::from(
            std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?,
        ),
        (None, None) => bail!("give --data or --file"),
    };
    let node = args.node.trim_end_matches('/');
    let chain_id = get(client, format!("{node}/v1/status")).await?["chain_id"]
        .as_u64()
        .context("status without chain_id")?;
    // Sealed for an EVM rollup, the payload is the sender's signed Ethereum transaction: the
    // envelope takes its nonce, and must be signed by the same account.
    let inner = args
        .encrypt
        .then(|| ordo_types::EthereumTx::decode(&payload).ok())
        .flatten();
    if let Some(inner) = &inner {
        let signer = inner.sender()?;
        if signer != key.address() {
            bail!(
                "the Ethereum transaction is signed by {signer}, the key file is {}'s",
                key.address()
            );
        }
    }
    let nonce = match (args.nonce, &inner) {
        (Some(n), _) => n,
        (None, Some(inner)) => inner.nonce,
        (None, None) => get(
            client,
            format!(
                "{node}/v1/accounts/{}/nonce?namespace={}",
                key.address(),
                args.namespace
            ),
        )
        .await?["next_nonce"]
            .as_u64()
            .context("no next_nonce in the answer")?,
    };
    let tx = if args.encrypt {
        let info = get(client, format!("{node}/v1/encryption")).await?;
        let public = info["public_key"]
            .as_str()
            .and_then(|h| alloy_primitives::hex::decode(h).ok())
            .context("no public_key in the answer")?;
        let key_id = info["key_id"].as_u64().context("no key_id in the answer")?;
        let encryption = ordo_enc::EncryptionKey::from_bytes(key_id, &public)?;
        ordo_enc::encrypt_transaction(
            &mut rand_010::rng(),
            &encryption,
            chain_id,
            args.namespace,
            nonce,
            &payload,
            &key,
        )?
    } else {
        Transaction::sign(args.namespace, nonce, payload, &key, chain_id)
    };
    let mut body = serde_json::to_value(&tx)?;
    body["from"] = key.address().to_string().into();
    body["chain_id"] = chain_id.into();
    submit(client, format!("{node}/v1/transactions"), &body).await?;
    let hash = tx.hash();
    println!("{hash}");
    if args.wait {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let status = get(client, format!("{node}/v1/transactions/{hash}")).await?;
            match status["status"].as_str() {
                Some("included") => {
                    println!("included at height {}", status["height"]);
                    return Ok(());
                }
                Some("dropped") => bail!("dropped: {}", status["reason"]),
                _ if Instant::now() > deadline => bail!("not included after 120 s: {status}"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    Ok(())
}
