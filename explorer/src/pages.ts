// The explorer's pages. Each reads the node's JSON API and renders into its View; live pages
// poll (every second) or follow the rollup's Server-Sent Events stream.

import { api, type Block, type Committee, type Network, type NamespaceBlock } from './api';
import { verifyNamespaceBlock } from './verify';
import { ago, eth, fields, html, link, mono, num, short, sparkline, table, View, type Html } from './ui';

// ---- shared state: recent blocks, the network description, throughput samples ----

const blocks = new Map<number, Block>();
let network: Promise<Network> | null = null;
const netInfo = () => (network ??= api.network().catch((e) => ((network = null), Promise.reject(e))));

/** The latest `count` blocks, newest first (fetched once each, kept while recent). */
async function recentBlocks(tip: number, count: number): Promise<Block[]> {
  const heights = Array.from({ length: Math.min(count, tip) }, (_, i) => tip - i);
  await Promise.all(heights.filter((h) => !blocks.has(h)).map(async (h) => blocks.set(h, await api.block(h))));
  for (const h of blocks.keys()) if (h <= tip - 200) blocks.delete(h);
  return heights.map((h) => blocks.get(h)!);
}

/** Block and transaction counters from /metrics, sampled every 2 s for the last 5 minutes. */
const samples: { t: number; blocks: number; txs: number }[] = [];
export function startSampling(): void {
  const sample = async () => {
    try {
      const c = await api.counters();
      samples.push({ t: performance.now(), blocks: c.blocks, txs: c.txs });
      if (samples.length > 150) samples.shift();
    } catch {
      /* the next sample will tell */
    }
    setTimeout(sample, 2000);
  };
  void sample();
}
const rates = () =>
  samples.slice(1).map((s, i) => {
    const dt = (s.t - samples[i].t) / 1000;
    const db = s.blocks - samples[i].blocks;
    return { tps: (s.txs - samples[i].txs) / dt, interval: db > 0 ? (dt * 1000) / db : NaN };
  });

/** Block interval (ms) and tx/s over a run of blocks, newest first. */
function pace(bs: Block[]): { interval: number; tps: number } {
  if (bs.length < 2) return { interval: NaN, tps: NaN };
  const span = bs[0].timestamp_ms - bs[bs.length - 1].timestamp_ms;
  const txs = bs.slice(0, -1).reduce((n, b) => n + b.tx_count, 0);
  return { interval: span / (bs.length - 1), tps: span > 0 ? (txs * 1000) / span : NaN };
}

const rollupName = (net: Network, ns: number) => net.rollups.find((r) => r.namespace === ns)?.name ?? `namespace ${ns}`;

function blockRows(bs: Block[]): Html[] {
  return bs.map(
    (b) => html`<tr><td>${link(`/blocks/${b.height}`, b.height)}</td><td>${mono(b.hash)}</td><td>${b.tx_count}</td>
      <td>${b.namespaces.map((n) => html`<span class="tag">${n.namespace}: ${n.transactions}</span>`)}</td>
      <td>${mono(b.proposer)}</td><td>${ago(b.timestamp_ms)}</td></tr>`,
  );
}

function committeeRows(c: Committee | null | undefined): Html[] {
  return (c?.validators ?? []).map(
    (v) => html`<tr><td>${link(`/address/${v.address}`, short(v.address))}</td><td>${num(v.voting_power)}</td>
      <td>${num((100 * v.voting_power) / c!.total_power, 1)}%</td><td>${mono(v.public_key)}</td></tr>`,
  );
}

// ---- pages ----

let heightMarked = false;

export async function home(view: View): Promise<void> {
  view.every(1000, async () => {
    const [status, net, pool, vals] = await Promise.all([api.status(), api.network(), api.mempool(), api.validators()]);
    const recent = await recentBlocks(status.height, 20);
    const r = rates().slice(-60);
    const live = r.length ? r[r.length - 1] : null;
    const initial = pace(recent);
    const latest = recent[0];
    view.render(html`
      <section class="cards">
        <div class="card"><h3>Height</h3><p class="big" id="height">${num(status.height)}</p></div>
        <div class="card"><h3>Block interval</h3><p class="big">${num(live && Number.isFinite(live.interval) ? live.interval : initial.interval)} ms</p></div>
        <div class="card"><h3>Finalized tx/s</h3><p class="big">${num(live ? live.tps : initial.tps, 1)}</p></div>
        <div class="card"><h3>Epoch</h3><p class="big">${latest ? latest.epoch : '—'}</p></div>
        <div class="card"><h3>L1 block seen</h3><p class="big">${net.l1 ? num(net.l1.confirmed_block) : 'no L1'}</p></div>
        <div class="card"><h3>Peers</h3><p class="big">${status.peers}</p></div>
      </section>
      <section class="charts">${sparkline(r.map((x) => x.tps), 'finalized tx/s (2 s samples)')}
        ${sparkline(r.map((x) => x.interval).filter(Number.isFinite), 'block interval, ms')}</section>
      <h2>Committee ${link('/committee', 'details →', 'more')}</h2>
      <p>${vals.current?.validators.length ?? 0} validators, total power ${num(vals.current?.total_power)}, set ${mono(vals.current?.hash)}
        deciding height ${vals.height}.</p>
      <h2>Pending per rollup</h2>
      ${table(
        ['rollup', 'pending', 'parked', 'bytes'],
        Object.entries(pool.namespaces).map(
          ([ns, s]) => html`<tr><td>${link(`/rollups/${ns}`, rollupName(net, Number(ns)))}</td><td>${s.pending}</td><td>${s.parked}</td><td>${s.bytes}</td></tr>`,
        ),
        'the mempool is empty',
      )}
      <h2>Latest blocks ${link('/blocks', 'all →', 'more')}</h2>
      ${table(['height', 'hash', 'txs', 'per rollup', 'proposer', 'time'], blockRows(recent.slice(0, 8)))}`);
    if (!heightMarked) {
      heightMarked = true;
      requestAnimationFrame(() => setTimeout(() => performance.mark('ordo:height-painted')));
    }
  });
}

export async function blockList(view: View): Promise<void> {
  view.every(1000, async () => {
    const status = await api.status();
    const recent = await recentBlocks(status.height, 30);
    const p = pace(recent);
    view.render(html`<h1>Blocks</h1><p>Latest ${num(status.height)} · ${num(p.interval)} ms apart · ${num(p.tps, 1)} tx/s over the last ${recent.length}.</p>
      ${table(['height', 'hash', 'txs', 'per rollup', 'proposer', 'time'], blockRows(recent))}`);
  });
}

export async function block(view: View, height: number): Promise<void> {
  const [b, txs, committee, net] = await Promise.all([api.block(height), api.blockTxs(height), api.validators(height), netInfo()]);
  const slices = await Promise.all(b.namespaces.slice(0, 16).map((n) => api.slice(n.namespace, height)));
  const power = new Map(committee.current?.validators.map((v) => [v.address, v.voting_power]));
  const signed = b.certificate.signatures.reduce((n, s) => n + (power.get(s.signer) ?? 0), 0);
  let at = 0;
  const groups = b.namespaces.map((n, i) => {
    const hashes = txs.transactions.slice(at, (at += n.transactions));
    const entries = slices[i]?.transactions ?? [];
    return html`<h3>${link(`/rollups/${n.namespace}/blocks/${height}`, `${rollupName(net, n.namespace)}: ${n.transactions} transactions`)}</h3>
      ${table(
        ['#', 'hash', 'kind'],
        hashes.slice(0, 50).map((h, j) => {
          const e = entries[j];
          const kind = e?.kind === 'forced' ? html`<span class="tag forced">forced, inbox #${e.inbox_index}</span>` : e ? `nonce ${e.nonce}` : '';
          return html`<tr><td>${j}</td><td>${link(`/tx/${h}`, short(h))}</td><td>${kind}</td></tr>`;
        }),
      )}`;
  });
  view.render(html`<h1>Block ${num(height)}</h1>
    <p>${height > 1 ? link(`/blocks/${height - 1}`, '← parent') : ''} ${link(`/blocks/${height + 1}`, 'next →')}</p>
    ${fields([
      ['hash', mono(b.hash, true)],
      ['time', `${new Date(b.timestamp_ms).toISOString()} (${ago(b.timestamp_ms)})`],
      ['proposer', link(`/address/${b.proposer}`, b.proposer)],
      ['epoch', b.epoch],
      ['transactions', b.tx_count],
      ['parent', mono(b.parent_hash, true)],
      ['namespace root', mono(b.namespace_root, true)],
      ['validators hash', mono(b.validators_hash, true)],
      ['next validators hash', mono(b.next_validators_hash, true)],
      ['L1 origin', html`${b.l1_origin_number} ${mono(b.l1_origin_hash)}`],
      ['inbox cursor', b.inbox_cursor],
      ['bundle root', mono(b.bundle_root, true)],
      ['encryption key', mono(b.encryption_key_hash, true)],
    ])}
    <h2>Commit certificate</h2>
    <p>Round ${b.certificate.round}: ${b.certificate.signatures.length} signers with ${num(signed)} of ${num(committee.current?.total_power)} voting power.</p>
    ${table(
      ['signer', 'voting power', 'signature'],
      b.certificate.signatures.map((s) => html`<tr><td>${link(`/address/${s.signer}`, short(s.signer))}</td><td>${num(power.get(s.signer))}</td><td>${mono(s.signature)}</td></tr>`),
    )}
    <h2>Per rollup</h2>${groups.length ? groups : html`<p class="muted">An empty block.</p>`}`);
}

export async function rollups(view: View): Promise<void> {
  view.every(2000, async () => {
    const [net, status, pool] = await Promise.all([netInfo(), api.status(), api.mempool()]);
    const recent = await recentBlocks(status.height, 30);
    const span = recent.length > 1 ? (recent[0].timestamp_ms - recent[recent.length - 1].timestamp_ms) / 1000 : NaN;
    const rows = net.rollups.map((r) => {
      const inRecent = recent.slice(0, -1).reduce((n, b) => n + (b.namespaces.find((x) => x.namespace === r.namespace)?.transactions ?? 0), 0);
      const last = recent.find((b) => b.namespaces.some((x) => x.namespace === r.namespace));
      const p = pool.namespaces[r.namespace];
      return html`<tr><td>${link(`/rollups/${r.namespace}`, r.namespace)}</td><td>${r.name}</td><td>${r.adapter}${r.chain_id ? ` (chain ${r.chain_id})` : ''}</td>
        <td>${num(inRecent / span, 1)}</td><td>${last ? link(`/rollups/${r.namespace}/blocks/${last.height}`, last.height) : '—'}</td><td>${p ? p.pending + p.parked : 0}</td></tr>`;
    });
    view.render(html`<h1>Rollups</h1>${table(['namespace', 'name', 'adapter', 'tx/s (recent)', 'last block with txs', 'in mempool'], rows, 'no rollup registered')}`);
  });
}

export async function rollup(view: View, ns: number): Promise<void> {
  const [net, status] = await Promise.all([netInfo(), api.status()]);
  const reg = net.rollups.find((r) => r.namespace === ns);
  const from = Math.max(1, status.height - 49);
  const seen: NamespaceBlock[] = status.height ? (await api.range(ns, from, status.height)).blocks : [];
  const draw = () => {
    const window = seen.slice(-100);
    const span = window.length > 1 ? (window[window.length - 1].header.timestamp_ms - window[0].header.timestamp_ms) / 1000 : NaN;
    const txs = window.slice(1).reduce((n, b) => n + b.transactions.length, 0);
    const withTxs = seen.filter((b) => b.transactions.length).slice(-20).reverse();
    view.render(html`<h1>${reg?.name ?? `Namespace ${ns}`}</h1>
      ${fields([
        ['namespace', ns],
        ['adapter', reg ? `${reg.adapter}${reg.chain_id ? ` (chain id ${reg.chain_id})` : ''}` : 'not registered'],
        ['followed up to', html`<span id="rollup-tip">${seen.length ? seen[seen.length - 1].height : '—'}</span> (live, Server-Sent Events)`],
        ['throughput', `${num(txs / span, 1)} tx/s over the last ${window.length} blocks`],
      ])}
      <h2>Recent blocks of its slice</h2>
      ${table(
        ['height', 'transactions', 'proof', 'time'],
        withTxs.map((b) => html`<tr><td>${link(`/rollups/${ns}/blocks/${b.height}`, b.height)}</td><td>${b.transactions.length}</td><td>${b.proof.kind}</td><td>${ago(b.header.timestamp_ms)}</td></tr>`),
        'no transactions in the recent blocks',
      )}`);
  };
  draw();
  const events = new EventSource(`/v1/namespaces/${ns}/stream?from=${status.height + 1}`);
  events.addEventListener('block', (e) => {
    seen.push(JSON.parse((e as MessageEvent<string>).data) as NamespaceBlock);
    if (seen.length > 500) seen.shift();
    draw();
  });
  view.onLeave(() => events.close());
}

export async function rollupBlock(view: View, ns: number, height: number): Promise<void> {
  const [slice, net] = await Promise.all([api.slice(ns, height), netInfo()]);
  view.render(html`<h1>${rollupName(net, ns)} at ${link(`/blocks/${height}`, `block ${num(height)}`)}</h1>
    ${fields([
      ['block hash', mono(slice.block_hash, true)],
      ['namespace root', mono(slice.namespace_root, true)],
      ['proof', slice.proof.kind === 'present' ? `inclusion: leaf ${slice.proof.leaf_index} of ${slice.proof.leaf_count}` : `absence among ${slice.proof.leaf_count} namespaces`],
      ['certificate', `round ${slice.certificate.round}, ${slice.certificate.signatures.length} signatures`],
    ])}
    <p><button id="verify">Verify in this browser</button> <span id="verdict" class="verdict"></span></p>
    <p class="muted">Checks the header hash against the certificate, the committee of block ${height} against the header's validators hash, every
      signature (secp256k1 recovery over the precommit digest) and &gt; 2/3 of the power, and the namespace proof of these transactions.</p>
    <h2>Transactions</h2>
    ${table(
      ['#', 'kind', 'nonce / inbox', 'sender', 'payload'],
      slice.transactions.map((e, i) =>
        e.kind === 'forced'
          ? html`<tr><td>${i}</td><td><span class="tag forced">forced</span></td><td>#${e.inbox_index}</td><td>${mono(e.sender)}</td><td>${mono(e.payload)}</td></tr>`
          : html`<tr><td>${i}</td><td>${e.auth ?? 'eip712'}</td><td>${e.nonce}</td><td></td><td>${mono(e.payload)}</td></tr>`,
      ),
      'no transactions for this rollup in this block',
    )}`);
  view.el.querySelector('#verify')!.addEventListener('click', async () => {
    const out = view.el.querySelector<HTMLElement>('#verdict')!;
    out.textContent = 'verifying…';
    try {
      const [fresh, committee] = await Promise.all([api.slice(ns, height), api.validators(height)]);
      const v = committee.current ? verifyNamespaceBlock(ns, fresh, committee.current) : null;
      out.dataset.ok = String(v?.ok ?? false);
      out.textContent = !v ? 'FAILED: no committee for this height' : v.ok ? `verified ✓ (${num(v.signedPower)} of ${num(v.totalPower)} voting power signed)` : `FAILED: ${v.failure}`;
    } catch (e) {
      out.dataset.ok = 'false';
      out.textContent = `FAILED: ${(e as Error).message}`;
    }
  });
}

export async function transaction(view: View, hash: string): Promise<void> {
  const net = await netInfo();
  view.every(1000, async () => {
    const tx = await api.tx(hash);
    view.render(html`<h1>Transaction</h1>
      ${fields([
        ['hash', mono(hash, true)],
        ['status', html`<span class="status ${tx.status}" id="tx-status">${tx.status}</span>`],
        ['rollup', tx.namespace !== undefined ? link(`/rollups/${tx.namespace}`, rollupName(net, tx.namespace)) : '—'],
        ['block', tx.height !== undefined ? html`<span id="tx-block">${link(`/blocks/${tx.height}`, tx.height)}</span>` : '—'],
        ['position', tx.index !== undefined ? html`entry ${tx.index} of the rollup's slice (${link(`/rollups/${tx.namespace}/blocks/${tx.height}`, 'slice and proof')})` : '—'],
        ['reason', tx.reason ?? '—'],
      ])}
      ${tx.status === 'unknown' ? html`<p class="muted">This node does not know this hash (yet).</p>` : ''}`);
    if (tx.status === 'included' || tx.status === 'dropped') view.leave();
  });
}

export async function address(view: View, addr: string): Promise<void> {
  const [net, vals] = await Promise.all([netInfo(), api.validators()]);
  const nonces = await Promise.all(net.rollups.map((r) => api.nonce(addr, r.namespace)));
  const member = vals.current?.validators.find((v) => v.address === addr.toLowerCase());
  view.render(html`<h1>Address</h1>${fields([
    ['address', mono(addr, true)],
    ['committee', member ? `member with voting power ${member.voting_power}` : 'not in the current committee'],
  ])}
    <h2>Next nonce per rollup</h2>
    ${table(['rollup', 'next nonce'], net.rollups.map((r, i) => html`<tr><td>${link(`/rollups/${r.namespace}`, r.name)}</td><td>${nonces[i].next_nonce}</td></tr>`))}`);
}

/** The first height of `epoch` (binary search over headers up to `tip`). */
async function epochStart(epoch: number, tip: number): Promise<number> {
  let lo = 1;
  let hi = tip;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((blocks.get(mid) ?? (await api.block(mid))).epoch < epoch) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function committee(view: View): Promise<void> {
  let epochs: { epoch: number; start: number } | null = null;
  view.every(3000, async () => {
    const [vals, net, status] = await Promise.all([api.validators(), api.network(), api.status()]);
    const latest = await api.block(status.height);
    if (!epochs || epochs.epoch !== latest.epoch) epochs = { epoch: latest.epoch, start: await epochStart(latest.epoch, status.height) };
    const length = epochs.epoch > 0 ? (epochs.start - 1) / epochs.epoch : null;
    const forced = await Promise.all(net.rollups.map((r) => api.forced(r.namespace)));
    const items = forced.flatMap((f) => f.items);
    const queued = items.filter((i) => i.status === 'queued');
    const stakers = net.l1?.stakers ?? [];
    view.render(html`<h1>Committee</h1>
      ${fields([
        ['epoch', html`<span id="epoch">${epochs.epoch}</span>, from height ${epochs.start}`],
        ['epoch length', length ? `${length} blocks; the next epoch starts at height ${epochs.start + length}` : 'not known yet (the first epoch, or elections off)'],
        ['L1 block seen', net.l1 ? num(net.l1.confirmed_block) : 'no L1'],
      ])}
      <h2>Current (deciding height ${vals.height})</h2>
      <p>Set ${mono(vals.current?.hash)}, total power ${num(vals.current?.total_power)}.</p>
      ${table(['validator', 'voting power', 'share', 'public key'], committeeRows(vals.current))}
      <h2>Next</h2>
      <p>${vals.next?.hash === vals.current?.hash ? 'The same set.' : html`Set ${mono(vals.next?.hash)}, total power ${num(vals.next?.total_power)}.`}</p>
      ${vals.next?.hash === vals.current?.hash ? '' : table(['validator', 'voting power', 'share', 'public key'], committeeRows(vals.next))}
      <h2>Stake on the L1</h2>
      ${table(
        ['validator', 'active stake', 'self stake', 'jailed'],
        stakers.map((s) => html`<tr><td>${link(`/address/${s.validator}`, short(s.validator))}</td><td>${eth(s.active_stake)}</td><td>${eth(s.self_stake)}</td><td>${s.jailed ? html`<span class="tag forced">jailed</span>` : 'no'}</td></tr>`),
        net.l1 ? 'no stake-table events read yet' : 'this network has no L1',
      )}
      <h2>Force-inclusion queue</h2>
      <p>${queued.length} queued; an item must be in the first block whose L1 origin reaches its deadline${net.l1 ? ` (its L1 block + ${net.l1.inclusion_delay})` : ''}.</p>
      ${table(
        ['inbox #', 'rollup', 'L1 block', 'deadline (L1)', 'status', 'sender'],
        [...queued, ...items.filter((i) => i.status === 'included').slice(-10)].map(
          (i) => html`<tr><td>${i.index}</td><td>${rollupName(net, i.namespace)}</td><td>${i.l1_block}</td><td>${i.deadline}</td>
            <td>${i.height ? link(`/blocks/${i.height}`, `included at ${i.height}`) : html`<span class="tag">queued</span>`}</td><td>${mono(i.sender)}</td></tr>`,
        ),
        net.l1 ? 'the inbox is empty' : 'this network has no L1',
      )}`);
  });
}
