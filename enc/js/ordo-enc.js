// Sealing and opening Ordo's encrypted payloads in JavaScript (browsers and Node 20.19+).
//
// Written from the specification, independently of the Rust crate `ordo-enc`, so that each
// checks the other (`ordo-enc.test.js` and `enc/tests/vectors.rs`). The scheme:
//
// - A payload is padded to its size bucket (`u32 BE length || payload || zeros`, 2^bucket
//   bytes, buckets 6..=16) and encrypted with ChaCha20-Poly1305 under a fresh 32-byte key
//   (nonce all zero, associated data "ordo/enc/dem/v1"): the DEM, `ciphertext || tag`.
// - The transaction's identity is keccak256("ordo/enc/identity/v1" || chain_id || key_id ||
//   namespace || sender || nonce || keccak256(dem)), integers as 8 big-endian bytes.
// - The DEM key is encapsulated to that identity with Boneh–Franklin IBE on BLS12-381 with the
//   Fujisaki–Okamoto transform (as commonware-cryptography's `tle`, variant MinSig: public key
//   in G2, decryption keys in G1):
//     Q   = hash_to_G1(varint(len(ns)) || ns || identity), ns = "ordo/enc/key/v1",
//           DST "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_"
//     r   = OS2IP(expand_message_xmd(sigma || M, "TLE_BLS12381_XMD:SHA-256_SSWU_RO_H3_", 48)) mod q
//     U   = r * G2,  V = sigma XOR sha256("h2" || gt_bytes(e(Q, r * P))),  W = M XOR sha256("h4" || sigma)
//   and the KEM is `U (96, compressed) || V (32) || W (32)`. The decryption key of an identity
//   is the BLS signature sk * Q; opening recomputes sigma from e(key, U), then M, then checks
//   U = H3(sigma, M) * G2.
// - The sealed bytes: `key_id (u64 BE) || bucket (u8) || kem (160) || dem (2^bucket + 16)`.
//
// And what a dapp needs to send one (docs/FORMATS.md, "Encrypted transaction"): the sender
// signs the EIP-712 digest of `EncryptedTransaction(uint64 namespace,uint64 nonce,bytes
// envelope)` (the envelope is the sealed bytes) in the domain `{name: "Ordo", version: "1",
// chainId}` with secp256k1 (RFC 6979, low s, `r || s || v`, v = 27 + parity); the transaction
// hash is keccak256(`3 || namespace || nonce || u32 length || envelope || signature`).

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

/** Namespace of the BLS message a decryption key signs (the identity is the message). */
export const KEY_NAMESPACE = 'ordo/enc/key/v1';
/** Smallest and largest size buckets: the padded plaintext is 2^bucket bytes. */
export const MIN_BUCKET = 6;
export const MAX_BUCKET = 16;

const IDENTITY_DOMAIN = 'ordo/enc/identity/v1';
const DEM_AAD = 'ordo/enc/dem/v1';
const G1_MESSAGE_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_';
const H3_DST = 'TLE_BLS12381_XMD:SHA-256_SSWU_RO_H3_';
const KEM_LEN = 160;
const U_LEN = 96;
const TAG_LEN = 16;
const HEADER_LEN = 8 + 1 + KEM_LEN;
const LENGTH_PREFIX = 4;
const EIP712_DOMAIN = 'EIP712Domain(string name,string version,uint256 chainId)';
const ENCRYPTED_TX_TYPE = 'EncryptedTransaction(uint64 namespace,uint64 nonce,bytes envelope)';
const ENCRYPTED_TX_VERSION = 3;

const G1 = bls12_381.G1.Point;
const G2 = bls12_381.G2.Point;
const ORDER = bls12_381.fields.Fr.ORDER;
const utf8 = (s) => new TextEncoder().encode(s);

/**
 * Why a sealed payload did not open. `reason` is one of:
 * - `kem`: the key encapsulation is malformed or does not open with this key (as Rust's
 *   `Undecryptable::Kem`);
 * - `dem`: the encrypted payload fails authentication (`Undecryptable::Dem`);
 * - `padding`: the padded plaintext's length prefix or padding is wrong (`Undecryptable::Padding`);
 * - `layout`: the bytes are not a sealed payload at all (Rust refuses them when decoding `Sealed`);
 * - `key`: the decryption key is not a point of G1 other than the identity (Rust's
 *   `EncError::InvalidDecryptionKey`).
 */
export class OpenError extends Error {
  constructor(reason, message) {
    super(`${reason}: ${message}`);
    this.name = 'OpenError';
    this.reason = reason;
  }
}

/** The identity a transaction's payload is sealed to (32 bytes). */
export function identity({ chainId, keyId, namespace, sender, nonce, dem }) {
  return keccak_256(
    concat(
      utf8(IDENTITY_DOMAIN),
      u64(chainId, 'chainId'),
      u64(keyId, 'keyId'),
      u64(namespace, 'namespace'),
      bytes(sender, 'sender', 20),
      u64(nonce, 'nonce'),
      keccak_256(bytes(dem, 'dem')),
    ),
  );
}

/** The parts of sealed bytes: `{ keyId (bigint), bucket, kem, dem }`. Throws `OpenError('layout')`. */
export function parseSealed(sealed) {
  const b = bytes(sealed, 'sealed');
  if (b.length < HEADER_LEN) throw new OpenError('layout', `${b.length} bytes is shorter than the header`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const keyId = view.getBigUint64(0, false);
  const bucket = b[8];
  if (bucket < MIN_BUCKET || bucket > MAX_BUCKET) throw new OpenError('layout', `size bucket ${bucket}`);
  const demLen = 2 ** bucket + TAG_LEN;
  if (b.length !== HEADER_LEN + demLen) {
    throw new OpenError('layout', `${b.length} bytes, bucket ${bucket} needs ${HEADER_LEN + demLen}`);
  }
  return { keyId, bucket, kem: b.subarray(9, HEADER_LEN), dem: b.subarray(HEADER_LEN) };
}

/** The identity of sealed bytes for a transaction with these visible fields. */
export function identityOf({ sealed, chainId, namespace, sender, nonce }) {
  const { keyId, dem } = parseSealed(sealed);
  return identity({ chainId, keyId, namespace, sender, nonce, dem });
}

/**
 * Seals `payload` for the transaction (`chainId`, `namespace`, `sender`, `nonce`) under the
 * epoch key (`keyId`, `publicKey`: 96-byte compressed G2). `random`, if given, is 64 bytes:
 * the DEM key, then the IBE's sigma (for tests; otherwise crypto.getRandomValues).
 * Byte inputs are Uint8Arrays or 0x-hex strings; integers are numbers or bigints (u64).
 */
export function seal({ publicKey, keyId, chainId, namespace, sender, nonce, payload, random }) {
  const pk = decodePoint(G2, bytes(publicKey, 'publicKey', U_LEN), 'publicKey');
  const body = bytes(payload, 'payload');
  const bucket = bucketFor(body.length);
  if (bucket === undefined) throw new RangeError(`payload of ${body.length} bytes is too large`);
  const rand = random === undefined ? crypto.getRandomValues(new Uint8Array(64)) : bytes(random, 'random', 64);
  const demKey = rand.slice(0, 32);
  const sigma = rand.slice(32, 64);

  const padded = new Uint8Array(2 ** bucket);
  new DataView(padded.buffer).setUint32(0, body.length, false);
  padded.set(body, LENGTH_PREFIX);
  const dem = chacha20poly1305(demKey, new Uint8Array(12), utf8(DEM_AAD)).encrypt(padded);

  const id = identity({ chainId, keyId, namespace, sender, nonce, dem });
  const r = h3(sigma, demKey);
  const u = G2.BASE.multiply(r);
  const gt = bls12_381.pairing(hashIdentity(id), pk.multiply(r));
  const v = xor(sigma, h2(gt));
  const w = xor(demKey, h4(sigma));

  return concat(u64(keyId, 'keyId'), Uint8Array.of(bucket), u.toBytes(true), v, w, dem);
}

/** Opens sealed bytes with the decryption key (48-byte compressed G1) of their identity. */
export function open({ decryptionKey, sealed }) {
  const parts = parseSealed(sealed);
  const demKey = openKem(decryptionKey, parts.kem).slice(0, 32);
  const { dem } = parts;
  let padded;
  try {
    padded = chacha20poly1305(demKey, new Uint8Array(12), utf8(DEM_AAD)).decrypt(dem);
  } catch {
    throw new OpenError('dem', 'the encrypted payload fails authentication');
  }
  const len = new DataView(padded.buffer, padded.byteOffset).getUint32(0, false);
  const rest = padded.subarray(LENGTH_PREFIX);
  if (len > rest.length || rest.subarray(len).some((x) => x !== 0)) {
    throw new OpenError('padding', 'the padded plaintext is malformed');
  }
  return rest.slice(0, len);
}

/**
 * The 64 random bytes `seal` used for these sealed bytes (DEM key, then sigma), recovered with
 * the decryption key: for tests that reseal a payload and compare bytes.
 */
export function recoverRandom({ decryptionKey, sealed }) {
  return openKem(decryptionKey, parseSealed(sealed).kem);
}

/**
 * The decryption key of `identity` under `masterSecret` (32-byte big-endian scalar): the BLS
 * MinSig signature over it with the key namespace. Real keys are threshold signatures of the
 * committee, never computed from one secret; this is for tests.
 */
export function decryptionKey(masterSecret, id) {
  const sk = bytesToBigInt(bytes(masterSecret, 'masterSecret', 32));
  if (sk === 0n || sk >= ORDER) throw new RangeError('masterSecret is not a non-zero scalar');
  return hashIdentity(bytes(id, 'identity', 32)).multiply(sk).toBytes(true);
}

/** The Ethereum address (20 bytes) of a secp256k1 private key (32 bytes): the sender it signs as. */
export function address(privateKey) {
  const uncompressed = secp256k1.getPublicKey(bytes(privateKey, 'privateKey', 32), false);
  return keccak_256(uncompressed.subarray(1)).slice(12);
}

/**
 * The EIP-712 digest the sender of an encrypted transaction signs (32 bytes), as Rust's
 * `Transaction::encrypted_signing_hash`: `sealed` is the envelope.
 */
export function encryptedSigningHash({ chainId, namespace, nonce, sealed }) {
  const domain = keccak_256(
    concat(keccak_256(utf8(EIP712_DOMAIN)), keccak_256(utf8('Ordo')), keccak_256(utf8('1')), u256(chainId, 'chainId')),
  );
  const struct = keccak_256(
    concat(
      keccak_256(utf8(ENCRYPTED_TX_TYPE)),
      u256(namespace, 'namespace'),
      u256(nonce, 'nonce'),
      keccak_256(bytes(sealed, 'sealed')),
    ),
  );
  return keccak_256(concat(Uint8Array.of(0x19, 0x01), domain, struct));
}

/**
 * The sender's signature (65 bytes, `r || s || v`, v 27 or 28) of an encrypted transaction
 * whose payload is `sealed`, as Rust's `Transaction::sign_encrypted` makes it (RFC 6979, so the
 * same key and transaction give the same bytes).
 */
export function signEncrypted({ chainId, namespace, nonce, sealed, privateKey }) {
  const digest = encryptedSigningHash({ chainId, namespace, nonce, sealed });
  const sig = secp256k1.sign(digest, bytes(privateKey, 'privateKey', 32), { prehash: false, format: 'recovered' });
  // noble puts the recovery id first; 2 and 3 (R.x not below the order, probability 2^-128)
  // cannot be written as v, and Rust signs again with other RFC 6979 data instead.
  if (sig[0] > 1) throw new Error('this signature has no Ethereum v; sign again with another nonce');
  return concat(sig.subarray(1), Uint8Array.of(27 + sig[0]));
}

/** The transaction hash (32 bytes) of an encrypted transaction, as the node answers it. */
export function encryptedTransactionHash({ namespace, nonce, sealed, signature }) {
  const envelope = bytes(sealed, 'sealed');
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, envelope.length, false);
  return keccak_256(
    concat(
      Uint8Array.of(ENCRYPTED_TX_VERSION),
      u64(namespace, 'namespace'),
      u64(nonce, 'nonce'),
      length,
      envelope,
      bytes(signature, 'signature', 65),
    ),
  );
}

/** A refusal from an Ordo node: `code` is the node's error code (`WRONG_TX_KIND`, ...), if any. */
export class NodeError extends Error {
  constructor(status, code, message) {
    super(`${code ?? `HTTP ${status}`}: ${message}`);
    this.name = 'NodeError';
    this.status = status;
    this.code = code;
  }
}

/**
 * Seals `payload` to the key the node names (`GET /v1/encryption`), signs it for the sender of
 * `privateKey` and submits it (`POST /v1/transactions`, `"auth": "encrypted"`), as `ordo tx
 * send --encrypt` does. The chain id comes from `GET /v1/status` and, unless `nonce` is given,
 * the nonce from `GET /v1/accounts/{sender}/nonce`. Returns `{ hash, from, nonce, identity }`:
 * the node's answer, the nonce used and the identity whose key opens the payload (hex). Throws a
 * `NodeError` with the node's `code` if it refuses, and an `Error` if it accepts under another
 * hash than the transaction's.
 */
export async function sendEncrypted({ node, namespace, payload, privateKey, nonce }) {
  const api = String(node).replace(/\/+$/, '');
  const sender = address(privateKey);
  const chainId = safe((await request(`${api}/v1/status`)).chain_id, 'chain_id');
  const key = await request(`${api}/v1/encryption`);
  if (nonce === undefined) {
    const url = `${api}/v1/accounts/${hex(sender)}/nonce?namespace=${u64Text(namespace, 'namespace')}`;
    nonce = safe((await request(url)).next_nonce, 'next_nonce');
  }
  const to = { chainId, namespace, sender, nonce };
  const sealed = seal({ publicKey: key.public_key, keyId: safe(key.key_id, 'key_id'), payload, ...to });
  const signature = signEncrypted({ chainId, namespace, nonce, sealed, privateKey });
  // Written by hand: u64s as plain JSON numbers, exact even above 2^53.
  const body =
    `{"namespace":${u64Text(namespace, 'namespace')},"nonce":${u64Text(nonce, 'nonce')},` +
    `"payload":"${hex(sealed)}","signature":"${hex(signature)}","auth":"encrypted",` +
    `"from":"${hex(sender)}","chain_id":${chainId}}`;
  const answer = await request(`${api}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const hash = hex(encryptedTransactionHash({ namespace, nonce, sealed, signature }));
  if (answer.hash !== hash) throw new Error(`the node accepted ${answer.hash}, not the transaction ${hash}`);
  return { ...answer, nonce, identity: hex(identityOf({ sealed, ...to })) };
}

// GETs (or sends `init` to) an Ordo API URL: its JSON answer, or a NodeError.
async function request(url, init) {
  const resp = await fetch(url, init);
  const text = await resp.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!resp.ok) {
    throw new NodeError(resp.status, json?.code, json?.message ?? text);
  }
  if (json === undefined) throw new NodeError(resp.status, undefined, `not JSON: ${text}`);
  return json;
}

// An integer the node sent as a JSON number, if JavaScript holds it exactly.
function safe(n, name) {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`the node's ${name} is ${n}, not an exact integer`);
  return n;
}

// A u64 as JSON and URLs write it: decimal digits.
function u64Text(x, name) {
  u64(x, name);
  return BigInt(x).toString();
}

const hex = (b) => '0x' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

// Returns DEM key || sigma, or throws OpenError('kem' | 'key').
function openKem(decryptionKey, kem) {
  let key;
  try {
    key = decodePoint(G1, bytes(decryptionKey, 'decryptionKey', 48), 'decryptionKey');
  } catch (e) {
    throw new OpenError('key', e.message);
  }
  let u;
  try {
    u = decodePoint(G2, kem.subarray(0, U_LEN), 'U');
  } catch (e) {
    throw new OpenError('kem', `malformed key encapsulation (${e.message})`);
  }
  const sigma = xor(kem.subarray(U_LEN, U_LEN + 32), h2(bls12_381.pairing(key, u)));
  const demKey = xor(kem.subarray(U_LEN + 32, KEM_LEN), h4(sigma));
  if (!G2.BASE.multiply(h3(sigma, demKey)).equals(u)) {
    throw new OpenError('kem', 'the key encapsulation does not open with this key');
  }
  return concat(demKey, sigma);
}

// H1: the identity as a G1 point (commonware's `union_unique` framing of namespace and message).
function hashIdentity(id) {
  const ns = utf8(KEY_NAMESPACE);
  return bls12_381.G1.hashToCurve(concat(varint(ns.length), ns, id), { DST: G1_MESSAGE_DST });
}

// H2 over the pairing result, serialized as blst does (see gtBytes).
const h2 = (gt) => sha256(concat(utf8('h2'), gtBytes(gt)));

// H3: RFC 9380 hash_to_field into the scalar field (L = 48, one element).
function h3(sigma, message) {
  const r = bytesToBigInt(expand_message_xmd(concat(sigma, message), utf8(H3_DST), 48, sha256)) % ORDER;
  if (r === 0n) throw new Error('H3 gave zero'); // probability 2^-255
  return r;
}

const h4 = (sigma) => sha256(concat(utf8('h4'), sigma));

// The 576 bytes of an Fp12 element as blst's `blst_bendian_from_fp12` writes them: 48-byte
// big-endian Fp values in the order of the powers of w (Fp12 = Fp2[w], w^2 = v), that is
// c0.c0, c1.c0, c0.c1, c1.c1, c0.c2, c1.c2 (each Fp2 as c0 then c1) — not noble's c0-then-c1
// tower order.
function gtBytes(f) {
  const out = new Uint8Array(576);
  let at = 0;
  for (const i of ['c0', 'c1', 'c2']) {
    for (const j of ['c0', 'c1']) {
      for (const k of ['c0', 'c1']) {
        out.set(bigIntToBytes(f[j][i][k], 48), at);
        at += 48;
      }
    }
  }
  return out;
}

// A compressed point of the group, on the curve, in the subgroup, not the identity.
function decodePoint(Point, b, name) {
  const p = Point.fromBytes(b);
  if (p.is0()) throw new Error(`${name} is the point at infinity`);
  return p;
}

function bucketFor(len) {
  for (let b = MIN_BUCKET; b <= MAX_BUCKET; b++) if (len + LENGTH_PREFIX <= 2 ** b) return b;
  return undefined;
}

function varint(n) {
  const out = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Uint8Array.from(out);
}

// A u64 as the 32 bytes of an ABI uint256 (EIP-712 encodes uint64 fields so).
const u256 = (x, name) => concat(new Uint8Array(24), u64(x, name));

function u64(x, name) {
  const n = typeof x === 'bigint' ? x : Number.isSafeInteger(x) ? BigInt(x) : undefined;
  if (n === undefined || n < 0n || n >= 1n << 64n) throw new RangeError(`${name} is not a u64`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n, false);
  return out;
}

// Bytes from a Uint8Array or a 0x-prefixed hex string, of `len` bytes if given.
function bytes(x, name, len) {
  let b;
  if (x instanceof Uint8Array) b = x;
  else if (typeof x === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(x)) {
    b = Uint8Array.from(x.slice(2).match(/../g) ?? [], (h) => parseInt(h, 16));
  } else throw new TypeError(`${name} must be a Uint8Array or 0x-prefixed hex`);
  if (len !== undefined && b.length !== len) throw new RangeError(`${name} must be ${len} bytes, not ${b.length}`);
  return b;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const xor = (a, b) => a.map((x, i) => x ^ b[i]);

function bytesToBigInt(b) {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

function bigIntToBytes(n, len) {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}
