/**
 * What the server is doing in a database that a restore is loading: the table being copied into
 * (pg_stat_progress_copy, PostgreSQL 14+) and the index being built (pg_stat_progress_create_index), so
 * progress lines say more than "100 % read" while psql or pg_restore still works.
 */
import type pg from 'pg';
import { connectClient, type SessionConfig } from './session.js';

const ACTIVITY_SQL = `
  SELECT (SELECT string_agg(format('%s.%s', n.nspname, c.relname), ', ')
            FROM pg_stat_progress_copy p JOIN pg_class c ON c.oid = p.relid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE p.datname = current_database()) AS copying,
         (SELECT string_agg(format('index on %s.%s (%s)', n.nspname, c.relname, p.phase), ', ')
            FROM pg_stat_progress_create_index p JOIN pg_class c ON c.oid = p.relid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE p.datname = current_database()) AS indexing`;

export class LoadActivity {
  private client?: pg.Client;
  private unavailable = false;
  private closed = false;
  /** What the last answer said (undefined: nothing known, or idle). */
  private latest?: string;
  /** The query in flight: close() waits for it, so no session is left in the database afterwards. */
  private pending?: Promise<void>;

  constructor(private readonly config: SessionConfig) {}

  /**
   * `loading public.events`, `index on public.events (building index: scanning table)`, or undefined when
   * unknown (older server, no connection, idle), as of the last answer; asks again in the background, so
   * a progress line never waits for the server and lines stay in order. Never throws: progress must not
   * fail a restore.
   */
  current(): string | undefined {
    if (!this.unavailable && !this.closed && !this.pending) {
      this.pending = this.query().finally(() => {
        this.pending = undefined;
      });
    }
    return this.latest;
  }

  private async query(): Promise<void> {
    try {
      this.client ??= await connectClient(this.config);
      const r = await this.client.query<{ copying: string | null; indexing: string | null }>(ACTIVITY_SQL);
      const row = r.rows[0];
      const parts = [row?.copying ? `loading ${row.copying}` : '', row?.indexing ?? ''].filter(Boolean);
      this.latest = parts.length ? parts.join(', ') : undefined;
    } catch {
      this.unavailable = true;
      this.latest = undefined;
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
