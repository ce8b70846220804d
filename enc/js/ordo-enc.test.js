// The differential test between this implementation and the Rust crate ordo-enc:
// - it opens every golden vector the Rust side wrote (enc/tests/vectors.json) with keys it
//   computes itself, and reseals each with the randomness it recovers, byte for byte;
// - it seals its own cases and checks they are exactly enc/tests/sealed-by-js.json (committed;
//   enc/tests/vectors.rs opens them; ORDO_UPDATE_FIXTURES=1 rewrites the file);
// - tampered payloads fail for the right reason;
// - the encrypted transaction in vectors.json (sealed and signed by ordo-enc for a fixed key)
//   is resealed, signed and hashed here to the same bytes.
// Run with `node --test` here (or `make test-js-enc` from the repository root).

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { test } from 'node:test';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  address,
  decryptionKey,
  encryptedSigningHash,
  encryptedTransactionHash,
  identity,
  identityOf,
  open,
  OpenError,
  parseSealed,
  recoverRandom,
  seal,
  signEncrypted,
} from './ordo-enc.js';

const VECTORS = new URL('../tests/vectors.json', import.meta.url);
const SEALED_BY_JS = new URL('../tests/sealed-by-js.json', import.meta.url);
const vectors = JSON.parse(readFileSync(VECTORS, 'utf8'));
const hex = (b) => '0x' + Buffer.from(b).toString('hex');
const unhex = (s) => Uint8Array.from(Buffer.from(s.slice(2), 'hex'));

test('the golden vectors open, and reseal to the same bytes', () => {
  assert.equal(vectors.cases.length, 4);
  assert.equal(vectors.key_namespace, 'ordo/enc/key/v1');
  for (const c of vectors.cases) {
    const to = { chainId: c.chain_id, namespace: c.namespace, sender: c.sender, nonce: c.nonce };
    const id = identityOf({ sealed: c.sealed, ...to });
    assert.equal(hex(id), c.identity);
    const key = decryptionKey(vectors.master_secret, id);
    assert.equal(hex(key), c.decryption_key);
    assert.equal(hex(open({ decryptionKey: key, sealed: c.sealed })), c.payload);

    const { keyId } = parseSealed(c.sealed);
    assert.equal(keyId, BigInt(vectors.key_id));
    const random = recoverRandom({ decryptionKey: key, sealed: c.sealed });
    const again = seal({ publicKey: vectors.public_key, keyId, payload: c.payload, random, ...to });
    assert.equal(hex(again), c.sealed);
  }
});

// Deterministic inputs: payload sizes at the bucket edges (0, 60 and 61 around 64; 4092 fills
// bucket 12; 5000), two chain ids, and the largest u64 nonce.
function jsCases() {
  const stream = (label, len) => {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i += 32) out.set(sha256(new TextEncoder().encode(`${label}/${i}`)).subarray(0, len - i), i);
    return out;
  };
  const sender = (b) => '0x' + b.repeat(20);
  return [
    { chainId: 7, namespace: 42, sender: sender('11'), nonce: 0, size: 0 },
    { chainId: 7, namespace: 42, sender: sender('11'), nonce: 1, size: 60 },
    { chainId: 7, namespace: 42, sender: sender('11'), nonce: 2, size: 61 },
    { chainId: 1337, namespace: 1, sender: sender('a7'), nonce: 0, size: 4092 },
    { chainId: 1337, namespace: 1, sender: sender('a7'), nonce: 1, size: 5000 },
    { chainId: 1337, namespace: 2n ** 63n, sender: sender('00'), nonce: 2n ** 64n - 1n, size: 33 },
  ].map((c, i) => ({
    ...c,
    payload: stream(`ordo-enc js payload ${i}`, c.size),
    random: stream(`ordo-enc js random ${i}`, 64),
  }));
}

// JSON as serde_json writes it (keys sorted, two-space indent), u64s as plain numbers.
function toJson(doc) {
  const text = JSON.stringify(doc, (_, v) => (typeof v === 'bigint' ? `u64:${v}` : v), 2);
  return text.replace(/"u64:(\d+)"/g, '$1') + '\n';
}

test('its own sealed payloads open and are exactly enc/tests/sealed-by-js.json', () => {
  const cases = jsCases().map((c) => {
    const to = { chainId: c.chainId, namespace: c.namespace, sender: c.sender, nonce: c.nonce };
    const sealed = seal({ publicKey: vectors.public_key, keyId: vectors.key_id, payload: c.payload, random: c.random, ...to });
    const { bucket, dem } = parseSealed(sealed);
    assert.equal(2 ** bucket, Math.max(64, 2 ** Math.ceil(Math.log2(c.size + 4))));
    const id = identity({ ...to, keyId: vectors.key_id, dem });
    const key = decryptionKey(vectors.master_secret, id);
    assert.deepEqual(open({ decryptionKey: key, sealed }), c.payload);
    return {
      chain_id: BigInt(c.chainId),
      decryption_key: hex(key),
      identity: hex(id),
      namespace: BigInt(c.namespace),
      nonce: BigInt(c.nonce),
      payload: hex(c.payload),
      sealed: hex(sealed),
      sender: c.sender,
    };
  });
  const fresh = toJson({
    about: 'payloads sealed by enc/js (ordo-enc.test.js writes it); enc/tests/vectors.rs opens them',
    cases,
    key_id: BigInt(vectors.key_id),
    key_namespace: vectors.key_namespace,
    master_secret: vectors.master_secret,
    public_key: vectors.public_key,
  });
  if (process.env.ORDO_UPDATE_FIXTURES || !existsSync(SEALED_BY_JS)) writeFileSync(SEALED_BY_JS, fresh);
  assert.equal(readFileSync(SEALED_BY_JS, 'utf8'), fresh, 'rerun with ORDO_UPDATE_FIXTURES=1 if the format changed on purpose');
});

test('without given randomness, sealing is randomized and still opens', () => {
  const to = { chainId: 7, namespace: 42, sender: '0x' + '22'.repeat(20), nonce: 5 };
  const payload = new TextEncoder().encode('swap 10 ETH for USDC');
  const a = seal({ publicKey: vectors.public_key, keyId: 3, payload, ...to });
  const b = seal({ publicKey: vectors.public_key, keyId: 3, payload, ...to });
  assert.notEqual(hex(a), hex(b));
  for (const sealed of [a, b]) {
    const key = decryptionKey(vectors.master_secret, identityOf({ sealed, ...to }));
    assert.deepEqual(open({ decryptionKey: key, sealed }), payload);
  }
});

test('sealing refuses what it cannot seal', () => {
  const base = { publicKey: vectors.public_key, keyId: 3, chainId: 7, namespace: 42, sender: '0x' + '22'.repeat(20), nonce: 0 };
  assert.doesNotThrow(() => seal({ ...base, payload: new Uint8Array(65536 - 4) }));
  assert.throws(() => seal({ ...base, payload: new Uint8Array(65536 - 3) }), RangeError);
  assert.throws(() => seal({ ...base, payload: '0x', publicKey: '0xc0' + '00'.repeat(95) }), /infinity/);
  assert.throws(() => seal({ ...base, payload: '0x', nonce: -1 }), RangeError);
  assert.throws(() => seal({ ...base, payload: '0x', nonce: 2n ** 64n }), RangeError);
  assert.throws(() => seal({ ...base, payload: '0x', sender: '0x11' }), RangeError);
});

test('tampered payloads fail for the right reason', () => {
  const c = vectors.cases[2]; // 61 bytes: bucket 7
  const to = { chainId: c.chain_id, namespace: c.namespace, sender: c.sender, nonce: c.nonce };
  const good = unhex(c.sealed);
  const key = unhex(c.decryption_key);
  const reason = (sealed, decryptionKey = key) => {
    try {
      open({ decryptionKey, sealed });
      return 'opened';
    } catch (e) {
      assert.ok(e instanceof OpenError, e);
      return e.reason;
    }
  };
  const flipped = (at, bit = 1) => {
    const b = good.slice();
    b[at] ^= bit;
    return b;
  };
  const header = 9;
  assert.equal(reason(good), 'opened');

  // The key encapsulation: U (bytes 9..105), V (105..137), W (137..169).
  assert.equal(reason(flipped(header, 0x80)), 'kem', 'U without its compression flag');
  assert.equal(reason(flipped(header + 50)), 'kem', 'U changed');
  const infinity = good.slice();
  infinity.set([0xc0, ...new Uint8Array(95)], header);
  assert.equal(reason(infinity), 'kem', 'U at infinity');
  assert.equal(reason(flipped(header + 96 + 3)), 'kem', 'V changed');
  assert.equal(reason(flipped(header + 128 + 31)), 'kem', 'W changed');
  // The key of another identity: the same transaction on another chain.
  const other = decryptionKey(vectors.master_secret, identityOf({ sealed: good, ...to, chainId: c.chain_id + 1 }));
  assert.equal(reason(good, other), 'kem', 'another identity’s key');

  // The encrypted payload and its tag.
  assert.equal(reason(flipped(header + 160 + 10)), 'dem', 'ciphertext changed');
  assert.equal(reason(flipped(good.length - 1)), 'dem', 'tag changed');

  // A well-authenticated plaintext with bad padding (re-encrypted under the recovered key).
  const demKey = recoverRandom({ decryptionKey: key, sealed: good }).slice(0, 32);
  const aead = () => chacha20poly1305(demKey, new Uint8Array(12), new TextEncoder().encode('ordo/enc/dem/v1'));
  const padded = aead().decrypt(good.subarray(header + 160));
  const withPlaintext = (p) => {
    const b = good.slice();
    b.set(aead().encrypt(p), header + 160);
    return b;
  };
  assert.equal(reason(withPlaintext(padded)), 'opened', 'the re-encryption itself is sound');
  const long = padded.slice();
  new DataView(long.buffer).setUint32(0, padded.length - 4 + 1);
  assert.equal(reason(withPlaintext(long)), 'padding', 'length beyond the bucket');
  const dirty = padded.slice();
  dirty[dirty.length - 1] = 1;
  assert.equal(reason(withPlaintext(dirty)), 'padding', 'non-zero padding');

  // Bytes that are not a sealed payload, and keys that are not keys.
  assert.equal(reason(good.subarray(0, good.length - 1)), 'layout');
  assert.equal(reason(Uint8Array.of(...good, 0)), 'layout');
  assert.equal(reason(flipped(8, 7 ^ 5)), 'layout', 'bucket 5');
  assert.equal(reason(flipped(8, 7 ^ 17)), 'layout', 'bucket 17');
  assert.equal(reason(good, Uint8Array.of(0xc0, ...new Uint8Array(47))), 'key', 'key at infinity');
  assert.equal(reason(good, key.subarray(1)), 'key', 'key too short');
});

test('an encrypted transaction seals, signs and hashes to the bytes ordo-enc made', () => {
  const t = vectors.encrypted_transaction;
  const { namespace, nonce, payload: sealed, signature } = t.transaction;
  assert.equal(t.transaction.auth, 'encrypted');
  assert.equal(hex(address(t.secret_key)), t.sender);

  // The envelope is the payload sealed for this sender: resealed with the randomness it
  // recovers, it is the same bytes.
  const to = { chainId: t.chain_id, namespace, sender: t.sender, nonce };
  const key = decryptionKey(vectors.master_secret, identityOf({ sealed, ...to }));
  assert.equal(hex(open({ decryptionKey: key, sealed })), t.payload);
  const random = recoverRandom({ decryptionKey: key, sealed });
  const resealed = seal({ publicKey: vectors.public_key, keyId: vectors.key_id, payload: t.payload, random, ...to });
  assert.equal(hex(resealed), sealed);

  const signed = { chainId: t.chain_id, namespace, nonce, sealed: resealed };
  assert.equal(hex(encryptedSigningHash(signed)), t.signing_hash);
  const mine = signEncrypted({ ...signed, privateKey: t.secret_key });
  assert.equal(hex(mine), signature);
  assert.equal(hex(encryptedTransactionHash({ namespace, nonce, sealed: resealed, signature: mine })), t.hash);

  // Every signed field is in the digest; the hash covers the signature.
  const digest = hex(encryptedSigningHash(signed));
  const flipped = resealed.slice();
  flipped[flipped.length - 1] ^= 1;
  for (const other of [
    { ...signed, chainId: t.chain_id + 1 },
    { ...signed, namespace: namespace + 1 },
    { ...signed, nonce: nonce + 1 },
    { ...signed, sealed: flipped },
  ]) {
    assert.notEqual(hex(encryptedSigningHash(other)), digest);
  }
  const otherSignature = unhex(signature);
  otherSignature[64] ^= 27 ^ 28;
  assert.notEqual(hex(encryptedTransactionHash({ namespace, nonce, sealed, signature: otherSignature })), t.hash);
  assert.throws(() => signEncrypted({ ...signed, privateKey: '0x' + '00'.repeat(32) }));
});
