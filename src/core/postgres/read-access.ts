/**
 * The backup's preflight: can this role read everything pg_dump will dump? pg_dump fails on the first
 * table, sequence or large object it may not read, possibly long into the dump; this check runs in the
 * dump's own snapshot before pg_dump starts and, when something is unreadable, says which GRANTs to run.
 *
 * Large objects are the usual gap: `pg_read_all_data` (PostgreSQL 14+) covers tables, sequences and
 * schemas but not large objects (checked on 14, 15 and 18).
 */
import type pg from 'pg';
import { UserError } from '../../util/errors.js';
import { DUMPED_RELATION, quoteIdent, type TableRef } from './stats.js';

export interface UnreadableRelation extends TableRef {
  kind: 'table' | 'sequence';
}

export interface ReadAccess {
  /** The role pg_dump runs as (current_user). */
  role: string;
  /** Server major, for the advice (pg_read_all_data exists from 14 on). */
  major: number;
  /** Schemas holding dumped tables or sequences that the role lacks USAGE on. */
  schemas: string[];
  relations: UnreadableRelation[];
  /** Large objects the role may not SELECT: how many, and the first few OIDs (ascending). */
  largeObjects: { count: number; oids: string[] };
}

/** Tables (ordinary and partitioned) and sequences that pg_dump dumps: not system, not temporary, not an extension's. */
const RELATIONS_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind AS relkind,
       pg_catalog.has_schema_privilege(n.oid, 'USAGE') AS usage,
       CASE WHEN c.relkind = 'S' THEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT')
            ELSE pg_catalog.has_table_privilege(c.oid, 'SELECT') END AS readable
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'S')
  AND ${DUMPED_RELATION}
ORDER BY 1, 2`;

/**
 * Whether current_user may read large object m: has_largeobject_privilege where the server has it
 * (PostgreSQL 17+); before that, the rule the server applies (superuser, the owner's privileges, or
 * SELECT granted in lomacl to the role, a role it has the privileges of, or PUBLIC).
 * lo_compat_privileges = on turns the checks off.
 */
function largeObjectReadable(hasFunction: boolean): string {
  const check = hasFunction
    ? `pg_catalog.has_largeobject_privilege(m.oid, 'SELECT')`
    : `(SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
       OR pg_catalog.pg_has_role(m.lomowner, 'USAGE')
       OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(m.lomacl) a
                  WHERE a.privilege_type = 'SELECT' AND (a.grantee = 0 OR pg_catalog.pg_has_role(a.grantee, 'USAGE')))`;
  return `(pg_catalog.current_setting('lo_compat_privileges')::boolean OR ${check})`;
}

const LISTED_LARGE_OBJECTS = 20;

/** What of the database the current role cannot read (in the session's snapshot). */
export async function checkReadAccess(client: pg.ClientBase): Promise<ReadAccess> {
  const who = await client.query<{ role: string; num: string; lofn: boolean }>(
    `SELECT current_user AS role, current_setting('server_version_num') AS num,
            pg_catalog.to_regprocedure('pg_catalog.has_largeobject_privilege(oid,text)') IS NOT NULL AS lofn`,
  );
  const { role, num, lofn } = who.rows[0] as { role: string; num: string; lofn: boolean };
  const rel = await client.query<{ schema: string; name: string; relkind: string; usage: boolean; readable: boolean }>(
    RELATIONS_SQL,
  );
  const schemas = new Set<string>();
  const relations: UnreadableRelation[] = [];
  for (const r of rel.rows) {
    if (!r.usage) schemas.add(r.schema);
    if (!r.readable) relations.push({ schema: r.schema, name: r.name, kind: r.relkind === 'S' ? 'sequence' : 'table' });
  }
  const lo = await client.query<{ count: string; oids: string[] | null }>(
    `WITH unreadable AS (
       SELECT m.oid FROM pg_catalog.pg_largeobject_metadata m WHERE NOT ${largeObjectReadable(lofn)})
     SELECT (SELECT count(*) FROM unreadable)::text AS count,
            ARRAY(SELECT oid::text FROM unreadable ORDER BY oid LIMIT ${LISTED_LARGE_OBJECTS}) AS oids`,
  );
  const row = lo.rows[0] as { count: string; oids: string[] | null };
  return {
    role,
    major: Math.floor(Number(num) / 10000),
    schemas: [...schemas].sort(),
    relations,
    largeObjects: { count: Number(row.count), oids: row.oids ?? [] },
  };
}

export function readsEverything(a: ReadAccess): boolean {
  return a.schemas.length === 0 && a.relations.length === 0 && a.largeObjects.count === 0;
}

/** Past this many unreadable objects of one kind in a schema, one GRANT … ON ALL … IN SCHEMA replaces them. */
const PER_OBJECT_LIMIT = 10;

/** The GRANT statements that give `a.role` what it lacks (run by the objects' owner or a superuser). */
export function grantsFor(a: ReadAccess): string[] {
  const role = quoteIdent(a.role);
  const out = a.schemas.map((s) => `GRANT USAGE ON SCHEMA ${quoteIdent(s)} TO ${role};`);
  for (const kind of ['table', 'sequence'] as const) {
    const bySchema = new Map<string, string[]>();
    for (const r of a.relations.filter((x) => x.kind === kind)) {
      bySchema.set(r.schema, [...(bySchema.get(r.schema) ?? []), r.name]);
    }
    const word = kind === 'table' ? 'TABLE' : 'SEQUENCE';
    for (const [schema, names] of bySchema) {
      if (names.length > PER_OBJECT_LIMIT) {
        out.push(`GRANT SELECT ON ALL ${word}S IN SCHEMA ${quoteIdent(schema)} TO ${role};`);
      } else {
        for (const n of names) out.push(`GRANT SELECT ON ${word} ${quoteIdent(schema)}.${quoteIdent(n)} TO ${role};`);
      }
    }
  }
  const lo = a.largeObjects;
  if (lo.count > 0 && lo.count <= lo.oids.length) {
    for (const oid of lo.oids) out.push(`GRANT SELECT ON LARGE OBJECT ${oid} TO ${role};`);
  } else if (lo.count > 0) {
    // Too many to list: one block that grants them all (run it as a superuser, or as their owner).
    const literal = `'${a.role.replace(/'/g, "''")}'`;
    out.push(
      `DO $$ DECLARE o oid; BEGIN FOR o IN SELECT oid FROM pg_catalog.pg_largeobject_metadata LOOP EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO %I', o, ${literal}); END LOOP; END $$;`,
    );
  }
  return out;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The preflight's failure: what the role cannot read, and the statements that fix it. */
export function readAccessError(a: ReadAccess): UserError {
  const lacking = [
    a.schemas.length ? count(a.schemas.length, 'schema') : '',
    count(a.relations.filter((r) => r.kind === 'table').length, 'table'),
    count(a.relations.filter((r) => r.kind === 'sequence').length, 'sequence'),
    count(a.largeObjects.count, 'large object'),
  ].filter((s) => s && !s.startsWith('0 '));
  const notes: string[] = [];
  if (a.relations.length || a.schemas.length) {
    notes.push(
      a.major >= 14
        ? `Or, for every table, sequence and schema now and later: GRANT pg_read_all_data TO ${quoteIdent(a.role)};`
        : `For tables and sequences created later: ALTER DEFAULT PRIVILEGES FOR ROLE <their owner> IN SCHEMA <schema> GRANT SELECT ON TABLES (and ON SEQUENCES) TO ${quoteIdent(a.role)};`,
    );
  }
  if (a.largeObjects.count) {
    notes.push(
      `Large objects (pg_read_all_data does not cover them): a superuser can instead run ALTER ROLE ${quoteIdent(a.role)} SET lo_compat_privileges = on; which also covers those created later` +
        (a.major >= 18
          ? `; or, for later ones: ALTER DEFAULT PRIVILEGES FOR ROLE <their owner> GRANT SELECT ON LARGE OBJECTS TO ${quoteIdent(a.role)};`
          : '.'),
    );
  }
  return new UserError(
    `preflight: the backup role ${quoteIdent(a.role)} cannot read ${lacking.join(', ')} that pg_dump would dump, so the dump would fail; nothing was dumped or stored. ` +
      `Run, as the objects' owner or a superuser:\n${grantsFor(a)
        .map((g) => `  ${g}`)
        .join('\n')}\n${notes.join('\n')}`,
  );
}

/** Throws readAccessError unless the session's role can read everything pg_dump dumps. */
export async function assertReadsEverything(client: pg.ClientBase): Promise<ReadAccess> {
  const access = await checkReadAccess(client);
  if (!readsEverything(access)) throw readAccessError(access);
  return access;
}
