// End-to-end check of the explorer a node serves, in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core). Run by node/tests/it/explorer.rs against a real
// network:
//
//   node explorer/e2e/explorer.mjs --api http://127.0.0.1:8650 --tx 0x<hash> --namespace 5 \
//     --screenshots docs/explorer
//
// It checks that the home page's height advances, that searching the transaction's hash finds
// it `included` with its block, that "verify" accepts the genuine rollup block and refuses a
// tampered proof, entries, header and signature (the same checks ordo_rollup_adapters makes in
// Rust), that the committee page lists the validators, and that no page logs a console error.
// Prints one JSON line with what it saw and the time to first render of the height; exits 1
// if a check failed.

import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    api: { type: 'string' },
    tx: { type: 'string' },
    namespace: { type: 'string' },
    screenshots: { type: 'string', default: 'docs/explorer' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
if (!args.api || !args.tx || !args.namespace) {
  console.error('usage: explorer.mjs --api URL --tx HASH --namespace NS [--screenshots DIR]');
  process.exit(2);
}
const api = args.api.replace(/\/$/, '');
mkdirSync(args.screenshots, { recursive: true });

const report = { checks: {}, console_errors: [] };
const check = (name, ok, detail) => {
  report.checks[name] = { ok: Boolean(ok), detail };
};

const browser = await chromium.launch({
  executablePath: args.chromium,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30_000);
  page.on('console', (m) => m.type() === 'error' && report.console_errors.push(`${page.url()}: ${m.text()}`));
  page.on('pageerror', (e) => report.console_errors.push(`${page.url()}: ${e.message}`));
  const shot = (name) => page.screenshot({ path: `${args.screenshots}/${name}.png`, fullPage: true });
  const heightOnPage = async () => Number((await page.locator('#height').innerText()).replace(/,/g, ''));

  // Home: the height appears and advances.
  await page.goto(`${api}/`);
  await page.locator('#height').waitFor();
  const first = await heightOnPage();
  await page.waitForFunction(() => performance.getEntriesByName('ordo:height-painted').length > 0);
  report.first_render_ms = await page.evaluate(() => performance.getEntriesByName('ordo:height-painted')[0].startTime);
  await page.waitForFunction((h) => Number(document.querySelector('#height').textContent.replace(/,/g, '')) > h, first);
  const later = await heightOnPage();
  check('height_advances', later > first, { first, later });
  await page.waitForSelector('figure.chart svg'); // two /metrics samples: the chart is drawn
  await shot('home');

  // Search: Enter in the box at the top finds the transaction; it shows `included` and its block.
  await page.fill('#q', args.tx);
  await page.press('#q', 'Enter');
  await page.waitForURL(`**/explorer/tx/${args.tx.toLowerCase()}`);
  await page.waitForFunction(() => document.querySelector('#tx-status')?.textContent === 'included', null, { timeout: 60_000 });
  const height = Number(await page.locator('#tx-block').innerText());
  check('tx_included', height > 0, { height });
  report.tx = { status: 'included', height };
  await shot('transaction');

  // The block page, from the transaction's link.
  await page.locator('#tx-block a').click();
  await page.waitForURL(`**/explorer/blocks/${height}`);
  await page.getByText('Commit certificate').waitFor();
  await shot('block');

  // The rollup block: "verify" accepts the genuine block and refuses tampered ones.
  const slicePath = `/v1/namespaces/${args.namespace}/blocks/${height}`;
  await page.goto(`${api}/explorer/rollups/${args.namespace}/blocks/${height}`);
  const verify = async () => {
    await page.locator('#verdict').evaluate((el) => {
      el.textContent = '';
      delete el.dataset.ok;
    });
    await page.click('#verify');
    await page.waitForSelector('#verdict[data-ok]');
    const el = page.locator('#verdict');
    return { ok: (await el.getAttribute('data-ok')) === 'true', text: await el.innerText() };
  };
  const genuine = await verify();
  check('verify_genuine', genuine.ok, genuine.text);
  await shot('rollup-block');
  const flip = (hex, at) => hex.slice(0, at) + ((parseInt(hex[at], 16) ^ 1).toString(16)) + hex.slice(at + 1);
  const tampers = {
    proof: (b) => {
      if (b.proof.kind === 'present' && b.proof.path.length) b.proof.path[0] = flip(b.proof.path[0], 2);
      else if (b.proof.kind === 'present') (b.proof.path = [`0x${'11'.repeat(32)}`]), (b.proof.leaf_count *= 2);
      else throw new Error('expected an inclusion proof for the transaction\'s namespace');
    },
    entries: (b) => (b.transactions[0].payload = b.transactions[0].payload + '00'),
    header: (b) => (b.header.timestamp_ms += 1),
    signature: (b) => (b.certificate.signatures[0].signature = flip(b.certificate.signatures[0].signature, 70)),
  };
  for (const [name, tamper] of Object.entries(tampers)) {
    await page.route(`**${slicePath}`, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      tamper(body);
      await route.fulfill({ response, json: body });
    });
    const verdict = await verify();
    check(`verify_refuses_tampered_${name}`, !verdict.ok, verdict.text);
    await page.unroute(`**${slicePath}`);
  }
  check('verify_genuine_again', (await verify()).ok);

  // The committee page lists the validators the API names.
  const validators = await (await fetch(`${api}/v1/validators`)).json();
  await page.goto(`${api}/explorer/committee`);
  await page.locator('#epoch').waitFor();
  const listed = await page.locator('table').first().locator('tbody a').evaluateAll((as) => as.map((a) => a.getAttribute('href').split('/').pop()));
  const expected = validators.current.validators.map((v) => v.address);
  check('committee_lists_validators', expected.every((a) => listed.includes(a)) && listed.length === expected.length, { listed, expected });
  report.committee = listed;
  await shot('committee');

  // The other pages render, and the home page fits a phone.
  for (const [path, name] of [['/explorer/blocks', 'blocks'], ['/explorer/rollups', 'rollups'], [`/explorer/rollups/${args.namespace}`, 'rollup']]) {
    await page.goto(`${api}${path}`);
    await page.locator('table tbody tr').first().waitFor();
    await shot(name);
  }
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${api}/`);
  await page.locator('#height').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check('fits_a_phone', overflow <= 0, { overflow });
  await shot('home-phone');

  check('no_console_errors', report.console_errors.length === 0, report.console_errors);
} catch (e) {
  check('script', false, String(e?.stack ?? e));
} finally {
  await browser.close();
}

report.ok = Object.values(report.checks).every((c) => c.ok);
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
