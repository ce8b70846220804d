// Checks a rollup block (`GET /v1/namespaces/{ns}/blocks/{h}`) in the browser, as
// `ordo_rollup_adapters::Verifier::verify` does in Rust (the formats are docs/FORMATS.md):
// 1. the header hashes (keccak256 of its 233-byte encoding) to the hash the certificate signs;
// 2. the committee given hashes to the header's `validators_hash`;
// 3. the certificate's signers are ascending members holding > 2/3 of the power, and each
//    signature recovers (secp256k1, low-s) to its signer over the precommit vote digest;
// 4. the namespace proof puts exactly these entries under the header's `namespace_root`.
// Pure: no I/O. Returns the first failure, or null when the block checks out.

import { keccak_256 } from '@noble/hashes/sha3.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { Committee, Entry, Header, NamespaceBlock, NamespaceProof } from './api';

type Bytes = Uint8Array;

function hex(h: string, len?: number): Bytes {
  const s = h.startsWith('0x') ? h.slice(2) : h;
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error(`not hex: ${h}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  if (len !== undefined && out.length !== len) throw new Error(`expected ${len} bytes: ${h}`);
  return out;
}

export function toHex(b: Bytes): string {
  return '0x' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Big-endian encoder of the fixed-width fields FORMATS.md uses. */
class Writer {
  private parts: Bytes[] = [];
  u8(v: number): this {
    this.parts.push(Uint8Array.of(v));
    return this;
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    this.parts.push(b);
    return this;
  }
  u64(v: number | bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v));
    this.parts.push(b);
    return this;
  }
  raw(h: string | Bytes, len?: number): this {
    this.parts.push(typeof h === 'string' ? hex(h, len) : h);
    return this;
  }
  bytes(h: string): this {
    const b = hex(h);
    return this.u32(b.length).raw(b);
  }
  done(): Bytes {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const eq = (a: Bytes, b: Bytes) => a.length === b.length && a.every((x, i) => x === b[i]);

/** keccak256 of the header encoding: the block hash. */
export function headerHash(h: Header): Bytes {
  const w = new Writer()
    .u8(3)
    .u64(h.chain_id)
    .u64(h.height)
    .u64(h.epoch)
    .u64(h.timestamp_ms)
    .raw(h.parent_hash, 32)
    .raw(h.proposer, 20)
    .raw(h.namespace_root, 32)
    .u32(h.tx_count)
    .raw(h.validators_hash, 32)
    .raw(h.next_validators_hash, 32)
    .u64(h.l1_origin_number)
    .raw(h.l1_origin_hash, 32)
    .u64(h.inbox_cursor)
    .raw(h.bundle_root, 32)
    .raw(h.encryption_key_hash, 32);
  return keccak_256(w.done());
}

/** An entry's encoding: tag, then the transaction (EIP-712 or Ethereum) or forced item. */
function entryBytes(e: Entry): Bytes {
  const w = new Writer();
  if (e.kind === 'forced') return w.u8(1).u64(e.inbox_index).raw(e.sender, 20).bytes(e.payload).done();
  if (e.auth === 'ethereum') return w.u8(0).u8(2).u64(e.namespace).bytes(e.payload).done();
  if (!e.signature) throw new Error('a signed entry without a signature');
  return w.u8(0).u8(1).u64(e.namespace).u64(e.nonce).bytes(e.payload).raw(e.signature, 65).done();
}

function leafHash(namespace: number, count: number, entriesHash: Bytes): Bytes {
  return keccak_256(new Writer().u8(0).u64(namespace).u32(count).raw(entriesHash).done());
}

const nodeHash = (l: Bytes, r: Bytes) => keccak_256(new Writer().u8(1).raw(l).raw(r).done());

/** The root of a `size`-leaf RFC 6962 tree from a leaf and its bottom-up path; null if the
 * path does not fit the tree's shape. */
function rootFromPath(index: number, size: number, leaf: Bytes, path: Bytes[]): Bytes | null {
  if (size <= 1) return path.length === 0 ? leaf : null;
  let split = 1;
  while (split * 2 < size) split *= 2;
  const sibling = path[path.length - 1];
  if (!sibling) return null;
  const rest = path.slice(0, -1);
  if (index < split) {
    const left = rootFromPath(index, split, leaf, rest);
    return left && nodeHash(left, sibling);
  }
  const right = rootFromPath(index - split, size - split, leaf, rest);
  return right && nodeHash(sibling, right);
}

function checkPath(index: number, size: number, leaf: Bytes, path: string[], root: Bytes): string | null {
  if (index >= size) return 'leaf index out of range';
  const got = rootFromPath(index, size, leaf, path.map((p) => hex(p, 32)));
  if (!got) return 'audit path has the wrong length';
  return eq(got, root) ? null : 'namespace root mismatch';
}

/** Checks that `entries` are all of `namespace`'s entries under `root`. */
export function checkProof(proof: NamespaceProof, root: Bytes, namespace: number, entries: Entry[]): string | null {
  if (proof.kind === 'present') {
    if (entries.length === 0) return 'a present namespace has at least one entry';
    const entriesHash = keccak_256(new Writer().raw(concat(entries.map(entryBytes))).done());
    return checkPath(proof.leaf_index, proof.leaf_count, leafHash(namespace, entries.length, entriesHash), proof.path, root);
  }
  if (entries.length > 0) return 'an absence proof cannot vouch for entries';
  const { left, right, leaf_count } = proof;
  for (const [side, leaf] of [['left', left], ['right', right]] as const) {
    if (!leaf) continue;
    if (side === 'left' ? leaf.namespace >= namespace : leaf.namespace <= namespace)
      return `${side} neighbour is on the wrong side of the namespace`;
    const bad = checkPath(leaf.index, leaf_count, leafHash(leaf.namespace, leaf.entry_count, hex(leaf.entries_hash, 32)), leaf.path, root);
    if (bad) return bad;
  }
  if (left && right) return left.index + 1 === right.index ? null : 'neighbours are not adjacent';
  if (right) return right.index === 0 ? null : 'right neighbour alone must be the first leaf';
  if (left) return left.index + 1 === leaf_count ? null : 'left neighbour alone must be the last leaf';
  return leaf_count === 0 && root.every((b) => b === 0) ? null : 'no neighbours given for a non-empty table';
}

function concat(parts: Bytes[]): Bytes {
  const w = new Writer();
  for (const p of parts) w.raw(p);
  return w.done();
}

/** keccak256 of `address || voting_power u64` over the committee, in address order. */
export function committeeHash(c: Committee): Bytes {
  const w = new Writer();
  for (const v of c.validators) w.raw(v.address, 20).u64(v.voting_power);
  return keccak_256(w.done());
}

/** The precommit digest: keccak256("ordo/vote/v1" || chain_id || height || round u32 || 2 || hash). */
function precommitDigest(chainId: number, height: number, round: number, blockHash: Bytes): Bytes {
  const w = new Writer().raw(new TextEncoder().encode('ordo/vote/v1')).u64(chainId).u64(height).u32(round).u8(2).raw(blockHash);
  return keccak_256(w.done());
}

/** The address that signed `digest` (65-byte `r || s || v`, v 27/28, low-s only). */
export function recoverSigner(digest: Bytes, signature: string): string {
  const sig = hex(signature, 65);
  const v = sig[64];
  if (v !== 27 && v !== 28) throw new Error('v must be 27 or 28');
  const parsed = secp256k1.Signature.fromBytes(sig.subarray(0, 64), 'compact').addRecoveryBit(v - 27);
  if (parsed.hasHighS()) throw new Error('high-s signature');
  const key = parsed.recoverPublicKey(digest).toBytes(false);
  return toHex(keccak_256(key.subarray(1)).subarray(12));
}

/** What a verification found: every check run, and the first failure (null: all passed). */
export interface Verdict {
  ok: boolean;
  failure: string | null;
  signedPower: number;
  totalPower: number;
}

/** Verifies namespace `namespace`'s block against `committee` (the set that decided it). */
export function verifyNamespaceBlock(namespace: number, block: NamespaceBlock, committee: Committee): Verdict {
  const total = committee.validators.reduce((n, v) => n + v.voting_power, 0);
  let signed = 0;
  const fail = (failure: string): Verdict => ({ ok: false, failure, signedPower: signed, totalPower: total });
  try {
    const { header, certificate } = block;
    if (block.namespace !== namespace) return fail('namespace mismatch');
    if (header.height !== block.height || certificate.height !== block.height) return fail('height mismatch');
    const hash = headerHash(header);
    if (!eq(hash, hex(certificate.block_hash, 32))) return fail('header hash differs from the certified hash');
    if (!eq(hash, hex(block.block_hash, 32))) return fail('header hash differs from block_hash');
    if (!eq(committeeHash(committee), hex(header.validators_hash, 32))) return fail('committee does not match validators_hash');
    const power = new Map(committee.validators.map((v) => [v.address.toLowerCase(), v.voting_power]));
    let previous = '';
    for (const s of certificate.signatures) {
      const signer = s.signer.toLowerCase();
      if (signer <= previous) return fail('signers are not strictly ascending');
      previous = signer;
      const p = power.get(signer);
      if (p === undefined) return fail(`signer ${signer} is not in the committee`);
      signed += p;
    }
    if (3 * signed <= 2 * total) return fail(`signers hold ${signed} of ${total}: not more than 2/3`);
    const digest = precommitDigest(header.chain_id, header.height, certificate.round, hash);
    for (const s of certificate.signatures) {
      if (recoverSigner(digest, s.signature) !== s.signer.toLowerCase()) return fail(`signature of ${s.signer} does not recover to it`);
    }
    const bad = checkProof(block.proof, hex(header.namespace_root, 32), namespace, block.transactions);
    return bad ? fail(`namespace proof: ${bad}`) : { ok: true, failure: null, signedPower: signed, totalPower: total };
  } catch (e) {
    return fail(`malformed: ${(e as Error).message}`);
  }
}
