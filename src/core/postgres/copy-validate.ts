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
import { parseColumnList } from '../pipeline/copy-statement.js';
import type { SessionConfig } from './session.js';
import { CANONICAL_SETTINGS, isSystemSchema, openStatsClient, qualifiedName, quoteIdent, tableLabel } from './stats.js';

/** A restored table as the COPY check read it; `error` when it could not be read as the dump wrote it. */
export interface CopiedTable extends TableStats {
  error?: string;
}

/**
 * Why a manifest's table is not read at all, or its column list as SQL (every name quoted). A manifest
 * comes from the bucket: its names reach SQL only parsed and re-quoted, never as written, and a system
 * catalog is never read (no backup lists one).
 */
function columnsSql(t: TableStats): { sql: string; names: number } | { refused: string } {
  if (isSystemSchema(t.schema)) {
    return { refused: `not read: ${t.schema} is a system schema, whose tables no backup lists` };
  }
  const names = parseColumnList(t.columns ?? '');
  if (names === null) return { refused: "not read: the manifest's column list is not a list of column names" };
  return { sql: names.map(quoteIdent).join(', '), names: names.length };
}

/** Tables of at least this many pages are read in block ranges by several sessions at once. */
const SPLIT_PAGES = 4096; // 32 MiB

/**
 * Reads every table back and compares nothing itself: returns each existing table's rows and checksum
 * (or why it could not be read as dumped). Large tables are split up front; the parts go to `concurrency`
 * sessions, largest tables first, and each table's parts are summed.
 */
export async function copyStats(
  config: SessionConfig,
  tables: TableStats[],
  o: {
    encoding?: string;
    concurrency: number;
    /** After each COPY read (a large table is read in several): reads done, reads in all, its table. */
    onProgress?: (done: number, total: number, table: string) => void;
  },
): Promise<CopiedTable[]> {
  if (tables.length === 0) return [];
  const xx = await rowHasher();
  const clients: pg.Client[] = [];
  try {
    for (let i = 0; i < Math.max(1, Math.min(o.concurrency, 8)); i++) {
      // row_security off: a table whose policies would hide rows from this role fails instead of counting short.
      clients.push(await openStatsClient(config, [...CANONICAL_SETTINGS, 'SET row_security = off']));
    }
    const first = clients[0] as pg.Client;
    const r = await first.query<{ v: string; pages: Array<string | null> }>(
      `SELECT current_setting('server_version_num') AS v,
              array(SELECT (pg_relation_size(to_regclass(n)) / current_setting('block_size')::int)::text
                    FROM unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY i) AS pages`,
      [tables.map((t) => (isSystemSchema(t.schema) ? null : qualifiedName(t)))],
    );
    const row = r.rows[0] as { v: string; pages: Array<string | null> };
    const canSplit = Number(row.v) >= 140000 && clients.length > 1;
    const encoding = o.encoding ? ` (ENCODING ${pg.escapeLiteral(o.encoding)})` : '';

    const states = tables.map((table, i) => {
      const columns = columnsSql(table);
      return {
        table,
        columns,
        pages: row.pages[i] === null ? -1 : Number(row.pages[i]), // -1: no such table
        digest: new RowDigest(xx),
        missing: false,
        error: 'refused' in columns ? columns.refused : undefined,
      };
    });
    type State = (typeof states)[number];
    const parts: Array<{ state: State; sql: string }> = [];
    for (const state of [...states].sort((a, b) => b.pages - a.pages)) {
      const { table: t, columns } = state;
      if ('refused' in columns) continue;
      const k = canSplit && columns.names > 0 && state.pages >= SPLIT_PAGES ? clients.length : 1;
      if (k === 1) {
        parts.push({
          state,
          sql: `COPY ${qualifiedName(t)}${columns.names ? ` (${columns.sql})` : ''} TO STDOUT${encoding}`,
        });
        continue;
      }
      const step = Math.ceil(state.pages / k);
      for (let i = 0; i < k; i++) {
        const upper = i === k - 1 ? '' : ` AND ctid < '(${(i + 1) * step},0)'::tid`;
        parts.push({
          state,
          sql: `COPY (SELECT ${columns.sql} FROM ONLY ${qualifiedName(t)} WHERE ctid >= '(${i * step},0)'::tid${upper}) TO STDOUT${encoding}`,
        });
      }
    }

    let failure: unknown = null;
    const total = parts.length;
    let done = 0;
    const work = async (client: pg.Client): Promise<void> => {
      for (let part = parts.shift(); part && !failure; part = parts.shift()) {
        const { state } = part;
        if (state.missing || state.error) continue;
        const digest = new RowDigest(xx);
        try {
          for await (const chunk of client.query(copyStreams.to(part.sql))) digest.update(chunk as Buffer);
          state.digest.merge(digest);
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === '42P01')
            state.missing = true; // undefined_table: reported as missing
          // undefined_column: the restored table's columns are not the dumped ones
          else if (code === '42703') state.error = `columns differ (${(err as Error).message})`;
          else failure ??= err;
        }
        o.onProgress?.(++done, total, tableLabel(state.table));
      }
    };
    await Promise.all(clients.map(work));
    if (failure) throw failure;

    const out: CopiedTable[] = [];
    for (const s of states) {
      const t = { schema: s.table.schema, name: s.table.name };
      if (s.missing) continue;
      out.push(
        s.error
          ? { ...t, rows: 0, checksum: '', error: s.error }
          : { ...t, rows: s.digest.rows, checksum: s.digest.digest() },
      );
    }
    return out;
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}
