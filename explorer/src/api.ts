// The node's JSON API as the explorer reads it (shapes from api/src/*.rs and /openapi.json).
// The explorer is served by the node it reads, so every path is same-origin.

export interface Header {
  chain_id: number;
  height: number;
  epoch: number;
  timestamp_ms: number;
  parent_hash: string;
  proposer: string;
  namespace_root: string;
  tx_count: number;
  validators_hash: string;
  next_validators_hash: string;
  l1_origin_number: number;
  l1_origin_hash: string;
  inbox_cursor: number;
  bundle_root: string;
  encryption_key_hash: string;
}

export interface Certificate {
  height: number;
  round: number;
  block_hash: string;
  signatures: { signer: string; signature: string }[];
}

/** `GET /v1/blocks/{height}`. */
export interface Block extends Header {
  hash: string;
  namespaces: { namespace: number; transactions: number }[];
  certificate: Certificate;
}

export type Entry =
  | { kind: 'signed'; namespace: number; nonce: number; payload: string; signature?: string; auth?: 'ethereum' }
  | { kind: 'forced'; inbox_index: number; sender: string; payload: string };

export interface AdjacentLeaf {
  index: number;
  namespace: number;
  entry_count: number;
  entries_hash: string;
  path: string[];
}

export type NamespaceProof =
  | { kind: 'present'; leaf_index: number; leaf_count: number; path: string[] }
  | { kind: 'absent'; leaf_count: number; left: AdjacentLeaf | null; right: AdjacentLeaf | null };

/** `GET /v1/namespaces/{ns}/blocks/{height}` and the stream's `block` events. */
export interface NamespaceBlock {
  namespace: number;
  height: number;
  block_hash: string;
  namespace_root: string;
  header: Header;
  certificate: Certificate;
  transactions: Entry[];
  proof: NamespaceProof;
}

export interface Validator {
  address: string;
  public_key: string;
  voting_power: number;
}

export interface Committee {
  hash: string;
  total_power: number;
  validators: Validator[];
}

export interface Status {
  chain_id: number;
  height: number;
  latest_block_hash: string;
  address: string | null;
  is_validator: boolean;
  peers: number;
  syncing: boolean;
  mempool_size: number;
}

export interface TxStatus {
  hash: string;
  status: 'pending' | 'parked' | 'included' | 'dropped' | 'unknown';
  height?: number;
  namespace?: number;
  index?: number;
  reason?: string;
}

export interface ForcedItem {
  index: number;
  namespace: number;
  sender: string;
  payload: string;
  l1_block: number;
  deadline: number;
  hash: string;
  status: 'queued' | 'included';
  height: number | null;
}

/** `GET /explorer/api/network`: what the JSON API does not say (api/src/explorer.rs). */
export interface Network {
  chain_id: number;
  rollups: { namespace: number; name: string; adapter: string; chain_id?: number }[];
  l1: null | {
    confirmed_block: number | null;
    inclusion_delay: number;
    error: string | null;
    stakers: { validator: string; operator: string | null; active_stake: string; self_stake: string; jailed: boolean }[];
  };
}

export class ApiError extends Error {}

export async function get<T>(path: string): Promise<T> {
  const r = await fetch(path, { headers: { accept: 'application/json' } });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw new ApiError(`${path}: ${body.code ?? r.status} ${body.message ?? ''}`);
  }
  return (await r.json()) as T;
}

export const api = {
  status: () => get<Status>('/v1/status'),
  block: (h: number) => get<Block>(`/v1/blocks/${h}`),
  blockTxs: (h: number) => get<{ transactions: string[] }>(`/v1/blocks/${h}/transactions`),
  slice: (ns: number, h: number) => get<NamespaceBlock>(`/v1/namespaces/${ns}/blocks/${h}`),
  range: (ns: number, from: number, to: number) =>
    get<{ blocks: NamespaceBlock[] }>(`/v1/namespaces/${ns}/blocks?from=${from}&to=${to}`),
  tx: (hash: string) => get<TxStatus>(`/v1/transactions/${hash}`),
  nonce: (addr: string, ns: number) => get<{ next_nonce: number }>(`/v1/accounts/${addr}/nonce?namespace=${ns}`),
  mempool: () =>
    get<{ transactions: number; bytes: number; namespaces: Record<string, { pending: number; parked: number; bytes: number }> }>(
      '/v1/mempool',
    ),
  validators: (height?: number) =>
    get<{ height: number; current: Committee | null; next?: Committee | null }>(
      height === undefined ? '/v1/validators' : `/v1/validators?height=${height}`,
    ),
  forced: (ns: number) => get<{ l1: boolean; items: ForcedItem[] }>(`/v1/forced?namespace=${ns}`),
  network: () => get<Network>('/explorer/api/network'),
  /** The counters of `/metrics` the home page charts. */
  async counters(): Promise<{ blocks: number; txs: number; l1: number | null }> {
    const text = await (await fetch('/metrics')).text();
    const read = (name: string) => {
      const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
      return m ? Number(m[1]) : null;
    };
    return { blocks: read('ordo_blocks_decided_total') ?? 0, txs: read('ordo_block_transactions_total') ?? 0, l1: read('ordo_l1_confirmed_block') };
  },
};
