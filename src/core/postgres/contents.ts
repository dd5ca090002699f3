/**
 * What a database holds besides table rows (the manifest's `contents`, less its roles): the extensions
 * the dump creates, every sequence's state, the large objects (count and checksum) and how many views,
 * materialized views, functions, indexes, constraints and triggers it has. backup reads them in the
 * snapshot pg_dump reads; verify reads them again from the restored copy and compares (compareContents).
 *
 * "User objects" are those pg_dump dumps: not in pg_catalog, information_schema or pg_toast (nor any
 * other pg_* schema), not members of an extension (pg_depend deptype 'e'), nor attached to one (an index,
 * constraint or trigger of an extension's table).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { DatabaseContents, ExtensionInfo, SequenceInfo } from '../manifest.js';
import { qualifiedName } from './stats.js';

/**
 * Large-object checksum, documented in docs/layout.md so that it can be recomputed by hand: for every
 * large object in ascending oid order, the line `<oid> <hex SHA-256 of its bytes>\n`; the checksum is the
 * hex SHA-256 of those lines, concatenated. No large objects: the SHA-256 of nothing.
 */
export const LARGE_OBJECT_ALGORITHM = 'pgdr-lo-sha256-v1';

/** The object kinds counted, in report order. */
export const OBJECT_KINDS = ['views', 'materializedViews', 'functions', 'indexes', 'constraints', 'triggers'] as const;

/** The contents backup records and verify compares (roles are someone else's: see the roles module). */
export type MeasuredContents = Omit<DatabaseContents, 'roles'>;

/** SQL: the object (`oid` in `catalog`) is not a member of an extension. Only constant SQL goes in. */
const notExtensionMember = (catalog: string, oid: string): string =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
     WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

const userSchema = (nspOid: string): string =>
  `(SELECT n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
     FROM pg_catalog.pg_namespace n WHERE n.oid = ${nspOid})`;

/** A relation (table, view, sequence, …) that is a user object. */
const userRelation = (c: string): string =>
  `${userSchema(`${c}.relnamespace`)} AND ${c}.relpersistence <> 't' AND ${notExtensionMember('pg_catalog.pg_class', `${c}.oid`)}`;

/**
 * Extensions pg_dump creates: those made after initdb (oid ≥ 16384, FirstNormalObjectId). plpgsql, made
 * by initdb, is in every new database and pg_dump dumps no CREATE EXTENSION for it.
 */
const EXTENSIONS_SQL = `
SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
WHERE e.oid >= 16384
ORDER BY 1`;

const SEQUENCES_SQL = `
SELECT n.nspname AS schema, c.relname AS name
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND ${userRelation('c')}
ORDER BY 1, 2`;

/**
 * One count per kind. Constraints: check, foreign key, primary key, unique, exclusion and constraint
 * triggers ('n', the NOT NULL constraints PostgreSQL 18 records, would differ between majors). Triggers:
 * not internal (those of foreign keys).
 */
const COUNTS_SQL = `
SELECT
  (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relkind = 'v' AND ${userRelation('c')}) AS "views",
  (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relkind = 'm' AND ${userRelation('c')}) AS "materializedViews",
  (SELECT count(*) FROM pg_catalog.pg_proc p
    WHERE ${userSchema('p.pronamespace')} AND ${notExtensionMember('pg_catalog.pg_proc', 'p.oid')}) AS "functions",
  (SELECT count(*) FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
    WHERE ${userRelation('c')} AND ${userRelation('t')}) AS "indexes",
  (SELECT count(*) FROM pg_catalog.pg_constraint k
    WHERE k.contype IN ('c', 'f', 'p', 'u', 'x', 't') AND ${userSchema('k.connamespace')}
      AND ${notExtensionMember('pg_catalog.pg_constraint', 'k.oid')}
      AND (k.conrelid = 0 OR ${notExtensionMember('pg_catalog.pg_class', 'k.conrelid')})
      AND (k.contypid = 0 OR ${notExtensionMember('pg_catalog.pg_type', 'k.contypid')})) AS "constraints",
  (SELECT count(*) FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class t ON t.oid = g.tgrelid
    WHERE NOT g.tgisinternal AND ${userRelation('t')}) AS "triggers"`;

export async function readExtensions(client: pg.ClientBase): Promise<ExtensionInfo[]> {
  const r = await client.query<ExtensionInfo>(EXTENSIONS_SQL);
  return r.rows.map((e) => ({ name: e.name, version: e.version, schema: e.schema }));
}

/**
 * Every sequence's last_value and is_called, read from the sequence itself as pg_dump reads it. Sequences
 * are not transactional: the value is the current one, not the snapshot's (see compareContents).
 */
export async function readSequences(client: pg.ClientBase): Promise<SequenceInfo[]> {
  const list = await client.query<{ schema: string; name: string }>(SEQUENCES_SQL);
  const out: SequenceInfo[] = [];
  for (const s of list.rows) {
    const r = await client.query<{ last_value: string; is_called: boolean }>(
      `SELECT last_value::text AS last_value, is_called FROM ${qualifiedName(s)}`,
    );
    const row = r.rows[0] as { last_value: string; is_called: boolean };
    out.push({ schema: s.schema, name: s.name, lastValue: row.last_value, isCalled: row.is_called });
  }
  return out;
}

export async function readObjectCounts(client: pg.ClientBase): Promise<Record<string, number>> {
  const r = await client.query<Record<string, string>>(COUNTS_SQL);
  const row = r.rows[0] as Record<string, string>;
  return Object.fromEntries(OBJECT_KINDS.map((k) => [k, Number(row[k])]));
}

/** Bytes read per lo_get call, and large objects per round trip. */
const LO_CHUNK = 256 * 1024;
const LO_BATCH = 64;

/**
 * Count and checksum (LARGE_OBJECT_ALGORITHM) of the large objects, read with lo_get in chunks of
 * LO_CHUNK bytes: each round trip fetches the first chunk of up to LO_BATCH objects, and an object
 * longer than a chunk is read on, chunk by chunk, so memory stays bounded whatever their sizes.
 */
export async function largeObjectDigest(
  client: pg.ClientBase,
  signal?: AbortSignal,
): Promise<DatabaseContents['largeObjects']> {
  const whole = createHash('sha256');
  let count = 0;
  let after = '0';
  for (;;) {
    signal?.throwIfAborted();
    // One byte more than a chunk tells whether the object goes on.
    const batch = await client.query<{ oid: string; data: Buffer }>(
      `SELECT m.oid::text AS oid, pg_catalog.lo_get(m.oid, 0, $2) AS data
       FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid > $1::oid ORDER BY m.oid LIMIT $3`,
      [after, LO_CHUNK + 1, LO_BATCH],
    );
    for (const lo of batch.rows) {
      const h = createHash('sha256');
      let data = lo.data;
      let offset = 0;
      while (data.length > LO_CHUNK) {
        h.update(data.subarray(0, LO_CHUNK));
        offset += LO_CHUNK;
        signal?.throwIfAborted();
        const next = await client.query<{ data: Buffer }>('SELECT pg_catalog.lo_get($1::oid, $2, $3) AS data', [
          lo.oid,
          offset,
          LO_CHUNK + 1,
        ]);
        data = (next.rows[0] as { data: Buffer }).data;
      }
      h.update(data);
      whole.update(`${lo.oid} ${h.digest('hex')}\n`);
      count++;
      after = lo.oid;
    }
    if (batch.rows.length < LO_BATCH) break;
  }
  return { count, checksum: whole.digest('hex'), algorithm: LARGE_OBJECT_ALGORITHM };
}

/** Everything at once (verify, on the restored copy). */
export async function readContents(client: pg.ClientBase, signal?: AbortSignal): Promise<MeasuredContents> {
  return {
    extensions: await readExtensions(client),
    sequences: await readSequences(client),
    largeObjects: await largeObjectDigest(client, signal),
    objectCounts: await readObjectCounts(client),
  };
}

/** One line of the comparison: what the manifest says, what the restored copy holds. */
export interface ContentsCheck {
  /** e.g. 'sequences', 'large objects', 'views', 'extensions'. */
  item: string;
  expected: string;
  actual: string;
  /** null when it matches. */
  problem: string | null;
}

function sequenceKey(s: { schema: string; name: string }): string {
  return JSON.stringify([s.schema, s.name]);
}

/**
 * A sequence's position: the value the next nextval() starts from, one step back (is_called false means
 * last_value has not been handed out yet). Compared as BigInt: sequences are bigint.
 */
function position(s: SequenceInfo, increment: bigint): bigint {
  const v = BigInt(s.lastValue);
  return s.isCalled ? v : v - increment;
}

/**
 * Compares the restored copy with the manifest. Sequences: backup reads them before pg_dump starts and
 * pg_dump reads them later (sequences ignore snapshots), so on a busy database the dump may hold a value
 * further on; a restored sequence passes when it is at the manifest's value or beyond it in its direction
 * (`increments`: each restored sequence's increment), and fails when it is behind, missing, or extra.
 * Extensions: each must exist in the copy (its version there is the scratch server's default: a different
 * version is a note, not a difference).
 */
export function compareContents(
  expected: MeasuredContents,
  actual: MeasuredContents,
  increments: Map<string, bigint>,
): { checks: ContentsCheck[]; notes: string[] } {
  const checks: ContentsCheck[] = [];
  const notes: string[] = [];

  const have = new Map(actual.extensions.map((e) => [e.name, e]));
  const missingExt = expected.extensions.filter((e) => !have.has(e.name));
  checks.push({
    item: 'extensions',
    expected: String(expected.extensions.length),
    actual: String(actual.extensions.length),
    problem: missingExt.length ? `missing: ${missingExt.map((e) => e.name).join(', ')}` : null,
  });
  for (const e of expected.extensions) {
    const a = have.get(e.name);
    if (a && a.version !== e.version) {
      notes.push(`extension ${e.name}: version ${a.version} in the restored copy, ${e.version} in the backup`);
    }
  }

  const restored = new Map(actual.sequences.map((s) => [sequenceKey(s), s]));
  const seqProblems: string[] = [];
  for (const e of expected.sequences) {
    const key = sequenceKey(e);
    const a = restored.get(key);
    restored.delete(key);
    const label = `${e.schema}.${e.name}`;
    if (!a) {
      seqProblems.push(`${label} missing`);
      continue;
    }
    if (a.lastValue === e.lastValue && a.isCalled === e.isCalled) continue;
    const inc = increments.get(key) ?? 1n;
    const ahead = inc > 0n ? position(a, inc) >= position(e, inc) : position(a, inc) <= position(e, inc);
    if (!ahead) {
      seqProblems.push(
        `${label} at ${a.lastValue}${a.isCalled ? '' : ' (not called)'}, expected ${e.lastValue}${e.isCalled ? '' : ' (not called)'}`,
      );
    }
  }
  for (const a of restored.values()) seqProblems.push(`${a.schema}.${a.name} not in the manifest`);
  checks.push({
    item: 'sequences',
    expected: String(expected.sequences.length),
    actual: String(actual.sequences.length),
    problem: seqProblems.length ? seqProblems.join('; ') : null,
  });

  const lo = expected.largeObjects;
  const alo = actual.largeObjects;
  if (lo.algorithm !== alo.algorithm) {
    notes.push(`large objects: checksum algorithm ${lo.algorithm} is unknown to this version; only counted`);
  }
  checks.push({
    item: 'large objects',
    expected: `${lo.count} (${lo.checksum.slice(0, 12)})`,
    actual: `${alo.count} (${alo.checksum.slice(0, 12)})`,
    problem:
      alo.count !== lo.count
        ? `${alo.count}, expected ${lo.count}`
        : lo.algorithm === alo.algorithm && alo.checksum !== lo.checksum
          ? 'same count, different contents (checksum)'
          : null,
  });

  const kinds = new Set([...OBJECT_KINDS, ...Object.keys(expected.objectCounts)]);
  for (const k of kinds) {
    const e = expected.objectCounts[k];
    if (e === undefined) continue;
    const a = actual.objectCounts[k];
    if (a === undefined) {
      notes.push(`${k}: counted by the backup's version, not by this one; not compared`);
      continue;
    }
    checks.push({ item: k, expected: String(e), actual: String(a), problem: a !== e ? `${a}, expected ${e}` : null });
  }
  return { checks, notes };
}

/** Each sequence's increment (pg_sequence.seqincrement), keyed as compareContents expects. */
export async function sequenceIncrements(client: pg.ClientBase): Promise<Map<string, bigint>> {
  const r = await client.query<{ schema: string; name: string; inc: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, s.seqincrement::text AS inc
     FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`,
  );
  return new Map(r.rows.map((row) => [sequenceKey(row), BigInt(row.inc)]));
}
