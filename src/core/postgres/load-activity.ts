/**
 * What the server is doing in a database that a restore is loading: the table being copied into
 * (pg_stat_progress_copy, PostgreSQL 14+) and the index being built (pg_stat_progress_create_index), so
 * progress lines say more than "100 % read" while psql or pg_restore still works.
 */
import type pg from 'pg';
import { connectClient, type SessionConfig } from './session.js';

const ACTIVITY_SQL = `
  SELECT (SELECT string_agg(c.relid::regclass::text, ', ')
            FROM pg_stat_progress_copy c WHERE c.datname = current_database()) AS copying,
         (SELECT string_agg(format('index %s on %s (%s)', NULLIF(i.index_relid, 0)::regclass, i.relid::regclass, i.phase), ', ')
            FROM pg_stat_progress_create_index i WHERE i.datname = current_database()) AS indexing`;

export class LoadActivity {
  private client?: pg.Client;
  private unavailable = false;
  private closed = false;
  /** The query in flight: close() waits for it, so no session is left in the database afterwards. */
  private pending?: Promise<string | undefined>;

  constructor(private readonly config: SessionConfig) {}

  /**
   * `loading public.events`, `index events_pkey on public.events (building index: scanning table)`, or
   * undefined when unknown (older server, no connection, a query still running). Never throws: progress
   * must not fail a restore.
   */
  describe(): Promise<string | undefined> {
    if (this.unavailable || this.closed || this.pending) return Promise.resolve(undefined);
    this.pending = this.query().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async query(): Promise<string | undefined> {
    try {
      this.client ??= await connectClient(this.config);
      const r = await this.client.query<{ copying: string | null; indexing: string | null }>(ACTIVITY_SQL);
      const row = r.rows[0];
      const parts = [row?.copying ? `loading ${row.copying}` : '', row?.indexing ?? ''].filter(Boolean);
      return parts.length ? parts.join(', ') : undefined;
    } catch {
      this.unavailable = true;
      return undefined;
    }
  }

  /** Ends the session (before the database is dropped or renamed). */
  async close(): Promise<void> {
    this.closed = true;
    await this.pending;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}
