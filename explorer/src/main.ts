// The explorer's shell: navigation, the search box on every page, and the router that maps
// each stable URL (/explorer/...) to a page.

import './style.css';
import * as pages from './pages';
import { BASE, View } from './ui';

type Route = [RegExp, (view: View, ...args: string[]) => Promise<void>];

const routes: Route[] = [
  [/^\/?$/, (v) => pages.home(v)],
  [/^\/blocks$/, (v) => pages.blockList(v)],
  [/^\/blocks\/(\d+)$/, (v, h) => pages.block(v, Number(h))],
  [/^\/rollups$/, (v) => pages.rollups(v)],
  [/^\/rollups\/(\d+)$/, (v, ns) => pages.rollup(v, Number(ns))],
  [/^\/rollups\/(\d+)\/blocks\/(\d+)$/, (v, ns, h) => pages.rollupBlock(v, Number(ns), Number(h))],
  [/^\/tx\/(0x[0-9a-fA-F]{64})$/, (v, hash) => pages.transaction(v, hash.toLowerCase())],
  [/^\/address\/(0x[0-9a-fA-F]{40})$/, (v, a) => pages.address(v, a.toLowerCase())],
  [/^\/committee$/, (v) => pages.committee(v)],
];

const main = document.querySelector<HTMLElement>('main')!;
let current: View | null = null;

/** Shows the page of the current URL (`/` is the home page too). */
function show(): void {
  current?.leave();
  const view = (current = new View(main));
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    a.classList.toggle('active', new URL(a.href).pathname.slice(BASE.length).split('/')[1] === path.split('/')[1]);
  }
  for (const [pattern, page] of routes) {
    const m = path.match(pattern);
    if (m) {
      main.innerHTML = '<p class="muted">Loading…</p>';
      page(view, ...m.slice(1)).catch((e) => view.problem(e));
      return;
    }
  }
  main.innerHTML = '<h1>Not found</h1><p>No explorer page at this address.</p>';
}

export function go(path: string): void {
  history.pushState(null, '', BASE + path);
  show();
  window.scrollTo(0, 0);
}

/** What the search box takes: a block height, a transaction hash or an address. */
function search(query: string): string | null {
  const q = query.trim();
  if (/^\d+$/.test(q)) return `/blocks/${Number(q)}`;
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) return `/tx/${q.toLowerCase()}`;
  if (/^0x[0-9a-fA-F]{40}$/.test(q)) return `/address/${q.toLowerCase()}`;
  return null;
}

document.querySelector('form#search')!.addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.querySelector<HTMLInputElement>('#q')!;
  const target = search(input.value);
  input.setCustomValidity(target ? '' : 'a block height, a transaction hash (0x + 64 hex) or an address (0x + 40 hex)');
  input.reportValidity();
  if (target) {
    input.value = '';
    go(target);
  }
});

// Links inside the explorer change the page without reloading it.
document.addEventListener('click', (e) => {
  const a = (e.target as Element).closest('a');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || a.target) return;
  const url = new URL(a.href);
  if (url.origin === location.origin && url.pathname.startsWith(BASE)) {
    e.preventDefault();
    go(url.pathname.slice(BASE.length));
  }
});

window.addEventListener('popstate', show);
pages.startSampling();
show();
