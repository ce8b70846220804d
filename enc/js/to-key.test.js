// The differential test of sealing to a validator's secp256k1 key (Rust: ordo_enc::seal_to_key,
// used to carry key-generation shares in public messages). This file is an independent
// implementation over @noble's ECDH, keccak and ChaCha20-Poly1305: it reseals every case of
// enc/tests/to-key.json (written by ordo-enc) from its inputs to the same bytes, opens it, and
// refuses it under another key, another context or with a byte changed.
// Run with `node --test` here (or `make test-js-enc` from the repository root).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

const DOMAIN = new TextEncoder().encode('ordo/enc/to-key/v1');
const NONCE = new Uint8Array(12);

const hex = (s) => Uint8Array.from(Buffer.from(s.replace(/^0x/, ''), 'hex'));
const concat = (...parts) => Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p))));

// keccak256(DOMAIN || x(secret * other) || ephemeral || recipient), both keys compressed.
function derive(secret, other, ephemeral, recipient) {
  const x = secp256k1.getSharedSecret(secret, other, true).slice(1);
  return keccak_256(concat(DOMAIN, x, ephemeral, recipient));
}

function sealWith(ephemeralSecret, recipient, context, plaintext) {
  const ephemeral = secp256k1.getPublicKey(ephemeralSecret, true);
  const key = derive(ephemeralSecret, recipient, ephemeral, recipient);
  return concat(ephemeral, chacha20poly1305(key, NONCE, context).encrypt(plaintext));
}

function openWith(secret, context, sealed) {
  const ephemeral = sealed.slice(0, 33);
  const key = derive(secret, ephemeral, ephemeral, secp256k1.getPublicKey(secret, true));
  return chacha20poly1305(key, NONCE, context).decrypt(sealed.slice(33));
}

const vectors = JSON.parse(
  readFileSync(new URL('../tests/to-key.json', import.meta.url), 'utf8'),
);

test('every case sealed by ordo-enc is resealed to the same bytes and opens', () => {
  assert.equal(vectors.cases.length, 3);
  for (const c of vectors.cases) {
    const recipient = hex(c.recipient);
    assert.deepEqual(secp256k1.getPublicKey(hex(c.recipient_secret), true), recipient);
    const sealed = sealWith(hex(c.ephemeral_secret), recipient, hex(c.context), hex(c.plaintext));
    assert.equal(Buffer.from(sealed).toString('hex'), c.sealed.slice(2));
    assert.deepEqual(openWith(hex(c.recipient_secret), hex(c.context), hex(c.sealed)), hex(c.plaintext));
  }
});

test('another key, another context or a changed byte does not open', () => {
  const c = vectors.cases[1];
  const sealed = hex(c.sealed);
  const other = keccak_256(new TextEncoder().encode('someone else'));
  assert.throws(() => openWith(other, hex(c.context), sealed));
  assert.throws(() => openWith(hex(c.recipient_secret), hex('0x00'), sealed));
  for (const i of [40, sealed.length - 1]) {
    const tampered = Uint8Array.from(sealed);
    tampered[i] ^= 1;
    assert.throws(() => openWith(hex(c.recipient_secret), hex(c.context), tampered));
  }
});
