// ethers v6 and viem, as a dapp uses them, against an Ordo EVM rollup's JSON-RPC: what each
// library reports for Ordo's answers, printed as one JSON object on stdout. Run by
// node/tests/it/wallets.rs against a real network:
//
//   node wallets.mjs <ethers rpc url> <viem rpc url> <chain id> <ethers key> <viem key>
//
// Each library, with its own funded account, sends two transfers back to back (nonces from
// Ordo's pending count), replays the first once it is decided, then holds nonce 3 while 2 is
// missing (Ordo parks it: it stays pending for as long as the test needs), sends it again
// (a duplicate), sends another nonce-3 transfer (a replacement attempt) and one with a nonce
// far ahead, and finally fills the gap so that both land. Refusals are reported as the library classifies them, with the
// JSON-RPC error the node answered.

import { JsonRpcProvider, Network, Transaction, Wallet } from 'ethers';
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  keccak256,
  RpcRequestError,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const [ethersUrl, viemUrl, chainIdArg, ethersKey, viemKey] = process.argv.slice(2);
if (!viemKey) {
  console.error('usage: node wallets.mjs <ethers rpc url> <viem rpc url> <chain id> <ethers key> <viem key>');
  process.exit(2);
}
const chainId = Number(chainIdArg);
const TO = `0x${'42'.repeat(20)}`;
const GAS = 21_000n;
const FEES = { maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };
const TIMEOUT_MS = 90_000;

/** The node's REST API root, from its `/v1/rollups/{ns}/rpc` URL. */
const apiOf = (url) => url.slice(0, url.indexOf('/v1/rollups/'));

const getJson = async (url) => (await fetch(url)).json();

/**
 * Waits until the node behind `url` has decided the block holding `hash` and finished with it
 * (its status height moves only after its pool dropped what the block included), so that a
 * replay is judged against the decided nonces and not against the pool.
 */
async function decided(url, hash) {
  const api = apiOf(url);
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const tx = await getJson(`${api}/v1/transactions/${hash}`);
    if (tx.status === 'included' && (await getJson(`${api}/v1/status`)).height >= tx.height) {
      return;
    }
    if (Date.now() > deadline) throw new Error(`${hash} not decided on ${api}: ${JSON.stringify(tx)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The JSON-RPC error object as the node sent it. */
const rpcError = (e) => e && { code: e.code, message: e.message, data: e.data };

/** What ethers reports for a send: the hash, or its error code with the node's answer. */
async function ethersOutcome(send) {
  try {
    return { accepted: (await send()).hash };
  } catch (e) {
    // Classified errors keep the node's answer in `info.error`; UNKNOWN_ERROR in `error`.
    return { code: e.code, short_message: e.shortMessage, rpc: rpcError(e.info?.error ?? e.error) };
  }
}

/** What viem reports for a send: the hash, or its error and cause names with the node's answer. */
async function viemOutcome(send) {
  try {
    return { accepted: await send() };
  } catch (e) {
    const request = typeof e.walk === 'function' ? e.walk((c) => c instanceof RpcRequestError) : null;
    return {
      error: e.name,
      cause: e.cause?.name,
      rpc: request && { code: request.code, message: request.details, data: request.data },
    };
  }
}

async function runEthers() {
  // ethers shares the answer to identical requests for 250 ms by default (with any node), so
  // two sends in a row would both sign with the first one's pending count: ask every time.
  const provider = new JsonRpcProvider(ethersUrl, Network.from(chainId), {
    staticNetwork: true,
    pollingInterval: 200,
    cacheTimeout: -1,
  });
  const wallet = new Wallet(ethersKey, provider);
  const transfer = (value, nonce) => ({
    type: 2,
    chainId,
    to: TO,
    value,
    gasLimit: GAS,
    ...FEES,
    ...(nonce === undefined ? {} : { nonce }),
  });
  const out = {};

  // Back to back, each send asking the node for the pending nonce.
  const first = await wallet.sendTransaction(transfer(1n));
  const second = await wallet.sendTransaction(transfer(2n));
  const receipts = await Promise.all([first.wait(1, TIMEOUT_MS), second.wait(1, TIMEOUT_MS)]);
  out.back_to_back = [first, second].map((tx, i) => ({ nonce: tx.nonce, status: receipts[i].status }));
  await decided(ethersUrl, first.hash);
  await decided(ethersUrl, second.hash);

  // The first again: the same signed bytes (signing is deterministic), its nonce used.
  const replay = await wallet.signTransaction(transfer(1n, 0));
  out.replay = {
    same_hash: Transaction.from(replay).hash === first.hash,
    ...(await ethersOutcome(() => provider.broadcastTransaction(replay))),
  };

  // Nonce 3 while 2 is missing: held, then sent again, then contested; then a nonce too far.
  const held = await wallet.signTransaction(transfer(3n, 3));
  out.held = await ethersOutcome(() => provider.broadcastTransaction(held));
  out.duplicate = await ethersOutcome(() => provider.broadcastTransaction(held));
  out.replacement = await ethersOutcome(() => wallet.sendTransaction(transfer(4n, 3)));
  out.far_ahead = await ethersOutcome(() => wallet.sendTransaction(transfer(6n, 1000)));

  // The gap filled (the pending count answers 2): both land, the held one as first signed.
  const gap = await wallet.sendTransaction(transfer(5n));
  const gapReceipt = await gap.wait(1, TIMEOUT_MS);
  const heldReceipt = await provider.waitForTransaction(out.held.accepted, 1, TIMEOUT_MS);
  const landed = await provider.getTransaction(out.held.accepted);
  out.gap_filled = {
    nonce: gap.nonce,
    status: gapReceipt.status,
    held_status: heldReceipt.status,
    held_value: landed.value.toString(),
  };
  provider.destroy();
  return out;
}

async function runViem() {
  const chain = defineChain({
    id: chainId,
    name: 'Ordo EVM rollup',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [viemUrl] } },
  });
  const account = privateKeyToAccount(viemKey);
  const wallet = createWalletClient({ account, chain, transport: http(viemUrl) });
  const client = createPublicClient({ chain, transport: http(viemUrl), pollingInterval: 200 });
  const transfer = (value, nonce) => ({
    to: TO,
    value,
    gas: GAS,
    ...FEES,
    ...(nonce === undefined ? {} : { nonce }),
  });
  const receipt = (hash) => client.waitForTransactionReceipt({ hash, timeout: TIMEOUT_MS });
  const out = {};

  // Back to back, each send asking the node for the pending nonce.
  const first = await wallet.sendTransaction(transfer(1n));
  const second = await wallet.sendTransaction(transfer(2n));
  const receipts = await Promise.all([receipt(first), receipt(second)]);
  out.back_to_back = await Promise.all(
    [first, second].map(async (hash, i) => ({
      nonce: (await client.getTransaction({ hash })).nonce,
      status: receipts[i].status,
    })),
  );
  await decided(viemUrl, first);
  await decided(viemUrl, second);

  // The first again: the same signed bytes (signing is deterministic), its nonce used.
  const replay = await account.signTransaction({ chainId, type: 'eip1559', ...transfer(1n, 0) });
  out.replay = {
    same_hash: keccak256(replay) === first,
    ...(await viemOutcome(() => wallet.sendTransaction(transfer(1n, 0)))),
  };

  // Nonce 3 while 2 is missing: held, then sent again, then contested; then a nonce too far.
  out.held = await viemOutcome(() => wallet.sendTransaction(transfer(3n, 3)));
  out.duplicate = await viemOutcome(() => wallet.sendTransaction(transfer(3n, 3)));
  out.replacement = await viemOutcome(() => wallet.sendTransaction(transfer(4n, 3)));
  out.far_ahead = await viemOutcome(() => wallet.sendTransaction(transfer(6n, 1000)));

  // The gap filled (the pending count answers 2): both land, the held one as first signed.
  const gap = await wallet.sendTransaction(transfer(5n));
  const gapReceipt = await receipt(gap);
  const heldReceipt = await receipt(out.held.accepted);
  out.gap_filled = {
    nonce: (await client.getTransaction({ hash: gap })).nonce,
    status: gapReceipt.status,
    held_status: heldReceipt.status,
    held_value: (await client.getTransaction({ hash: out.held.accepted })).value.toString(),
  };
  return out;
}

const [ethersResult, viemResult] = await Promise.all([runEthers(), runViem()]);
console.log(JSON.stringify({ ethers: ethersResult, viem: viemResult }));
