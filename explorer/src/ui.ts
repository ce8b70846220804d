// Rendering helpers: an escaping template tag, formatting, links, and the per-page lifetime
// (timers and streams a page opens end when the reader navigates away).

/** Markup that is already safe. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

function piece(v: unknown): string {
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(piece).join('');
  if (v === null || v === undefined || v === false) return '';
  return String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A template whose interpolated values are escaped (unless they are `Html`). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  return new Html(strings.reduce((out, s, i) => out + s + (i < values.length ? piece(values[i]) : ''), ''));
}

export const BASE = '/explorer';
export const link = (path: string, text: unknown, cls = '') => html`<a href="${BASE}${path}" class="${cls}">${text}</a>`;
export const short = (h: string | null | undefined) => (h && h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-6)}` : (h ?? '—'));
export const mono = (h: string | null | undefined, full = false) => html`<span class="mono" title="${h ?? ''}">${full ? (h ?? '—') : short(h)}</span>`;
export const num = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits });
export const ago = (ms: number) => {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  return s < 60 ? `${s.toFixed(1)} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ago` : new Date(ms).toISOString();
};
/** A wei amount (decimal or 0x hex) in ETH. */
export const eth = (wei: string) => {
  const v = BigInt(wei);
  return `${(v / 10n ** 18n).toString()}.${(v % 10n ** 18n).toString().padStart(18, '0').slice(0, 4)} ETH`;
};

export const table = (head: string[], rows: Html[], empty = 'nothing yet') =>
  html`<div class="scroll"><table><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${
    rows.length ? rows : html`<tr><td colspan="${head.length}" class="muted">${empty}</td></tr>`
  }</tbody></table></div>`;

export const fields = (pairs: [string, unknown][]) =>
  html`<dl class="fields">${pairs.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;

/** A small SVG line chart of `values` (oldest first). */
export function sparkline(values: number[], label: string): Html {
  const w = 300;
  const h = 60;
  if (values.length < 2) return html`<div class="chart muted">${label}: collecting samples…</div>`;
  const max = Math.max(...values, 1e-9);
  const pts = values.map((v, i) => `${((i / (values.length - 1)) * w).toFixed(1)},${(h - (v / max) * (h - 4) - 2).toFixed(1)}`);
  return html`<figure class="chart"><svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="${label}">
    <polyline fill="none" stroke="currentColor" stroke-width="1.5" points="${pts.join(' ')}"/></svg>
    <figcaption>${label} · max ${num(max, 1)}</figcaption></figure>`;
}

/** The lifetime of the page on screen: what it starts stops when the route changes. */
export class View {
  private stops: (() => void)[] = [];
  alive = true;
  constructor(readonly el: HTMLElement) {}

  render(content: Html): void {
    if (this.alive) this.el.innerHTML = content.text;
  }

  /** Runs `f` now and every `ms` while the page is shown (never two runs at once). */
  every(ms: number, f: () => Promise<void>): void {
    let timer = 0;
    const run = async () => {
      try {
        await f();
      } catch (e) {
        this.problem(e);
      }
      if (this.alive) timer = window.setTimeout(run, ms);
    };
    this.stops.push(() => clearTimeout(timer));
    void run();
  }

  onLeave(f: () => void): void {
    this.stops.push(f);
  }

  /** Shows a failed read in the page's status line (not as a console error). */
  problem(e: unknown): void {
    const line = this.el.querySelector('.problem') ?? this.el.appendChild(document.createElement('p'));
    line.className = 'problem';
    line.textContent = e instanceof Error ? e.message : String(e);
  }

  leave(): void {
    this.alive = false;
    this.stops.forEach((f) => f());
  }
}
