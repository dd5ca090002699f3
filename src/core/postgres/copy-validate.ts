/**
 * pgdr-copy-xxh64-sum-v1 on a restored database: each table's rows read back with the dump's own COPY
 * column list and output settings, counted and hashed as they stream (nothing held), over several
 * sessions. The sum does not depend on row order, so on PostgreSQL 14+ (TID range scans) a large table is
 * cut into block ranges that the sessions read side by side.
 *
 * (Measured and dropped: validating each table as soon as the restore stream had committed it, with a
 * NOTIFY injected after each data section. On 2 cores it made verify slower, 17.5–19.6 s instead of
 * 14.7–15.0 s on a 1 GB dump: the reads compete with the load for CPU, and the post-data
 * `ADD CONSTRAINT … PRIMARY KEY` waits for a table's read to finish.)
 */
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { TableStats } from '../manifest.js';
import { RowDigest, rowHasher } from '../pipeline/copy-scan.js';
import { CANONICAL_SETTINGS, qualifiedName } from './stats.js';

/** A restored table as the COPY check read it; `error` when it could not be read as the dump wrote it. */
export interface CopiedTable extends TableStats {
  error?: string;
}

/** Tables of at least this many pages are read in block ranges by several sessions at once. */
const SPLIT_PAGES = 4096; // 32 MiB

type XXHash = Awaited<ReturnType<typeof rowHasher>>;

interface TableState {
  table: TableStats;
  digest: RowDigest | null;
  queued: boolean;
  missing: boolean;
  error?: string;
}

interface Part {
  state: TableState;
  /** null: the whole table, decided by the session that takes it (it may split it). */
  sql: string | null;
}

export class CopyValidator {
  private readonly states: TableState[];
  private readonly queue: Part[] = [];
  private readonly waiters: Array<(p: Part | null) => void> = [];
  private closed = false;
  /** Parts being read: a table being read may still be cut into more parts. */
  private active = 0;
  private failure: unknown = null;
  private clients: pg.Client[] = [];
  private workers: Promise<void>[] = [];
  private xx!: XXHash;
  private versionNum = 0;

  constructor(
    private readonly config: pg.ClientConfig,
    tables: TableStats[],
    private readonly o: { encoding?: string; concurrency: number },
  ) {
    this.states = tables.map((table) => ({
      table,
      digest: null,
      queued: false,
      missing: false,
    }));
  }

  /** Opens the sessions. */
  async start(): Promise<void> {
    this.xx = await rowHasher();
    const sessions = Math.max(1, Math.min(this.o.concurrency, 8));
    for (let i = 0; i < sessions; i++) {
      const client = await this.connect();
      this.clients.push(client);
    }
    const first = this.clients[0] as pg.Client;
    const r = await first.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    this.versionNum = Number(r.rows[0]?.v);
    this.workers = this.clients.map((c) => this.work(c));
  }

  /** Validates every table and returns the results. */
  async finish(): Promise<CopiedTable[]> {
    for (const s of this.states) this.enqueue(s);
    this.closed = true;
    this.wakeIfDone();
    await Promise.all(this.workers);
    if (this.failure) throw this.failure;
    const out: CopiedTable[] = [];
    for (const s of this.states) {
      const t = { schema: s.table.schema, name: s.table.name };
      if (s.missing) continue;
      if (s.error) out.push({ ...t, rows: 0, checksum: '', error: s.error });
      else if (s.digest) out.push({ ...t, rows: s.digest.rows, checksum: s.digest.digest() });
    }
    return out;
  }

  /** Closes every session (also after a failure or cancellation). */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    for (const w of this.waiters.splice(0)) w(null);
    await Promise.all(this.clients.map((c) => c.end().catch(() => {})));
    this.clients = [];
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client(this.config);
    client.on('error', () => {});
    await client.connect();
    // row_security off: a table whose policies would hide rows from this role fails instead of counting short.
    for (const s of [...CANONICAL_SETTINGS, 'SET row_security = off']) await client.query(s);
    return client;
  }

  private enqueue(state: TableState): void {
    if (state.queued || this.closed) return;
    state.queued = true;
    this.push({ state, sql: null });
  }

  private push(part: Part, front = false): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(part);
    else if (front) this.queue.unshift(part);
    else this.queue.push(part);
  }

  private take(): Promise<Part | null> {
    const part = this.queue.shift();
    if (part) return Promise.resolve(part);
    if ((this.closed && this.active === 0) || this.failure) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends the waiting sessions once nothing is queued, nothing is being read, and nothing more will come. */
  private wakeIfDone(): void {
    if ((this.closed && this.active === 0 && this.queue.length === 0) || this.failure) {
      for (const w of this.waiters.splice(0)) w(null);
    }
  }

  private async work(client: pg.Client): Promise<void> {
    for (let part = await this.take(); part; part = await this.take()) {
      if (this.failure) return;
      this.active++;
      try {
        await this.run(client, part);
      } catch (err) {
        this.failure ??= err;
        this.queue.length = 0;
      } finally {
        this.active--;
        this.wakeIfDone();
      }
    }
  }

  private async run(client: pg.Client, part: Part): Promise<void> {
    const { state } = part;
    const t = state.table;
    const encoding = this.o.encoding ? ` (ENCODING ${pg.escapeLiteral(this.o.encoding)})` : '';
    let sql = part.sql;
    if (sql === null) {
      state.digest = new RowDigest(this.xx);
      const columns = t.columns ? ` (${t.columns})` : '';
      sql = `COPY ${qualifiedName(t)}${columns} TO STDOUT${encoding}`;
      const k = this.clients.length;
      if (k > 1 && t.columns && this.versionNum >= 140000) {
        const r = await client.query<{ pages: string | null }>(
          "SELECT (pg_relation_size(to_regclass($1)) / current_setting('block_size')::int)::text AS pages",
          [qualifiedName(t)],
        );
        const pages = Number(r.rows[0]?.pages ?? 0);
        if (pages >= SPLIT_PAGES) {
          const step = Math.ceil(pages / k);
          const range = (i: number): string =>
            `COPY (SELECT ${t.columns} FROM ONLY ${qualifiedName(t)} WHERE ctid >= '(${i * step},0)'::tid${
              i === k - 1 ? '' : ` AND ctid < '(${(i + 1) * step},0)'::tid`
            }) TO STDOUT${encoding}`;
          // The other ranges go to the front, for idle sessions; this one reads the first.
          for (let i = k - 1; i >= 1; i--) this.push({ state, sql: range(i) }, true);
          sql = range(0);
        }
      }
    }
    if (state.missing || state.error) return;
    const digest = new RowDigest(this.xx);
    try {
      const stream = client.query(copyStreams.to(sql));
      for await (const chunk of stream) digest.update(chunk as Buffer);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '42P01') {
        state.missing = true; // undefined_table: reported as missing
        return;
      }
      if (code === '42703') {
        // undefined_column: the restored table's columns are not the dumped ones
        state.error = `columns differ (${(err as Error).message})`;
        return;
      }
      throw err;
    }
    state.digest?.merge(digest);
  }
}

/** Validates every table once (no restore running). */
export async function copyStats(
  config: pg.ClientConfig,
  tables: TableStats[],
  o: { encoding?: string; concurrency: number },
): Promise<CopiedTable[]> {
  const v = new CopyValidator(config, tables, o);
  try {
    await v.start();
    return await v.finish();
  } finally {
    await v.close();
  }
}
