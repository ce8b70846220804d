// Sends encrypted transactions to an Ordo node with `sendEncrypted`, as a dapp would, and prints
// what happened as one JSON object on stdout. Run by node/tests/it/encryption.rs against a real
// node; the sender's private key comes from the environment, not the command line:
//
//   ORDO_PRIVATE_KEY=0x… node send.mjs <node api url> <namespace> <payload hex>
//
// It sends the payload twice to the namespace with the nonces the node gives (`sent`: each
// answer), then once to namespace 999999, which no rollup has (`refused`: the error's code).

import { NodeError, sendEncrypted } from './ordo-enc.js';

const [node, namespaceArg, payload] = process.argv.slice(2);
const privateKey = process.env.ORDO_PRIVATE_KEY;
if (!payload || !privateKey) {
  console.error('usage: ORDO_PRIVATE_KEY=0x… node send.mjs <node api url> <namespace> <payload hex>');
  process.exit(2);
}
const namespace = BigInt(namespaceArg);

const sent = [];
for (let i = 0; i < 2; i++) sent.push(await sendEncrypted({ node, namespace, payload, privateKey }));

let refused;
try {
  refused = { accepted: await sendEncrypted({ node, namespace: 999999, payload, privateKey }) };
} catch (e) {
  if (!(e instanceof NodeError)) throw e;
  refused = { code: e.code, status: e.status };
}

console.log(JSON.stringify({ sent, refused }));
