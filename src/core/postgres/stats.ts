/**
 * Table row counts and content checksums (see CHECKSUM_ALGORITHM in manifest.ts). A backup takes them
 * inside the snapshot pg_dump reads (snapshot.ts), so the manifest describes exactly the data in the dump.
 */
import pg from 'pg';
import type { TableStats } from '../manifest.js';
import { connectClient, type SessionConfig } from './session.js';

export interface TableRef {
  schema: string;
  name: string;
}

/** Output settings that make a row's text form the same on every server and session. */
export const CANONICAL_SETTINGS = [
  "SET TimeZone = 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  'SET extra_float_digits = 3',
  "SET bytea_output = 'hex'",
  'SET statement_timeout = 0',
  // A checksum query is one long scan; compiling it costs more than it saves.
  'SET jit = off',
];

/**
 * For validating a restored copy, where nothing else runs: let PostgreSQL spread each table's checksum
 * scan over parallel workers (the sum is additive, so partial aggregates combine exactly).
 */
export const PARALLEL_SCAN_SETTINGS = [
  'SET max_parallel_workers_per_gather = 4',
  'SET parallel_setup_cost = 0',
  'SET parallel_tuple_cost = 0',
  "SET min_parallel_table_scan_size = '8MB'",
];

/**
 * The condition (on pg_class c joined to pg_namespace n) for relations pg_dump dumps: not in a system schema,
 * not temporary, not a member of an extension. Shared by the table list and the read-access preflight.
 */
export const DUMPED_RELATION = `c.relpersistence <> 't'
  AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

/** Ordinary tables pg_dump dumps: not system catalogs, not temporary, not owned by an extension. */
const TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS name
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND ${DUMPED_RELATION}
ORDER BY 1, 2`;

export async function listTables(client: pg.ClientBase): Promise<TableRef[]> {
  const r = await client.query<TableRef>(TABLES_SQL);
  return r.rows.map((row) => ({ schema: row.schema, name: row.name }));
}

/** An identifier for SQL: always quoted (`""` for `"`), whatever it holds. */
export function quoteIdent(name: string): string {
  return pg.escapeIdentifier(name);
}

export function qualifiedName(t: TableRef): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}

/**
 * PostgreSQL's own schemas (pg_catalog, pg_toast, pg_temp_…: a user cannot create a schema named pg_…)
 * and information_schema: listTables never lists their tables and pg_dump dumps no data of them.
 */
export function isSystemSchema(schema: string): boolean {
  return schema.startsWith('pg_') || schema === 'information_schema';
}

/** A table's identity as a map key (schema and name may hold any character). */
export function tableKey(t: TableRef): string {
  return JSON.stringify([t.schema, t.name]);
}

export function tableLabel(t: TableRef): string {
  return `${t.schema}.${t.name}`;
}

/**
 * Each table's exact row count and, unless `checksums` is false, its content checksum ('' when not taken:
 * counting alone is ~20× cheaper than hashing every row).
 */
export async function tableStats(
  client: pg.ClientBase,
  tables: TableRef[],
  onTable?: (t: TableRef, index: number) => void,
  { checksums = true, only = false }: { checksums?: boolean; only?: boolean } = {},
): Promise<TableStats[]> {
  const out: TableStats[] = [];
  for (const [i, t] of tables.entries()) {
    onTable?.(t, i);
    if (!checksums) {
      // ONLY: a parent's own rows, without its inheritance children's (what its COPY in a dump holds).
      const r = await client.query<{ rows: string }>(
        `SELECT count(*)::text AS rows FROM ${only ? 'ONLY ' : ''}${qualifiedName(t)}`,
      );
      out.push({ schema: t.schema, name: t.name, rows: Number((r.rows[0] as { rows: string }).rows), checksum: '' });
      continue;
    }
    // The documented form takes substr(md5, 1, 16); casting the whole 128-bit string to bit(64) keeps the
    // same leftmost 64 bits (a cast truncates on the right) with one operation less per row.
    const r = await client.query<{ rows: string; checksum: string }>(
      `SELECT count(*)::text AS rows,
              coalesce(sum(('x' || md5(ROW(r.*)::text))::bit(64)::bigint), 0)::text AS checksum
       FROM ${qualifiedName(t)} AS r`,
    );
    const row = r.rows[0] as { rows: string; checksum: string };
    out.push({ schema: t.schema, name: t.name, rows: Number(row.rows), checksum: row.checksum });
  }
  return out;
}

/** Opens a plain session with the canonical settings (for validating a restored database). */
export async function openStatsClient(
  config: SessionConfig,
  settings: string[] = [...CANONICAL_SETTINGS, ...PARALLEL_SCAN_SETTINGS],
): Promise<pg.Client> {
  const client = await connectClient(config);
  try {
    for (const s of settings) await client.query(s);
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  return client;
}
