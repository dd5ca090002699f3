/**
 * The plain-dump scanner against what a database user who is not a superuser can put into a real dump:
 * text that imitates pg_dump (`-- Data for Name:` headers, `COPY … FROM stdin;`, `\.`, quotes, `$$`,
 * comments, backslashes, newlines) in comments, column defaults, function bodies, views, names and rows.
 * Whatever it is, the tables read off the real pg_dump output are the catalog's, with the catalog's
 * columns, its row counts and the checksums psql's own COPY output gives (an independent recomputation).
 */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import pgLib from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tablesOfDump } from '../../src/core/backups/dump.js';
import { CopyScanner, rowHasher } from '../../src/core/pipeline/copy-scan.js';
import { parseColumnList } from '../../src/core/pipeline/copy-statement.js';
import { listTables, qualifiedName, tableKey } from '../../src/core/postgres/stats.js';
import { clientBin, createDatabase, dropDatabase, pg, psql } from '../harness/context.js';
import { referenceChecksum } from '../harness/copy-reference.js';

const TRAPS = [
  '\n',
  '\r\n',
  '\t',
  '\\',
  '\\\\',
  '\\.',
  '\n\\.\n',
  "'",
  "''",
  '"',
  '$$',
  '$_$',
  '$a$',
  '--',
  '/*',
  '*/',
  ';',
  "E'",
  '\\restrict k\n',
  '\\connect postgres\n',
  '\n--\n-- Data for Name: pg_publication; Type: TABLE DATA; Schema: pg_catalog; Owner: postgres\n--\n\n',
  'COPY pg_catalog.pg_publication (oid, pubname) FROM stdin;\n',
  "COPY public.t (a) TO PROGRAM 'touch /tmp/pgdr-pwned' --\n",
  'COPY x FROM stdin;',
  '\n1\tx\n\\.\n\n',
];

/** Text assembled from pg_dump look-alikes and arbitrary characters (PostgreSQL text holds no NUL). */
const hostile = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...TRAPS) },
      fc.string({ maxLength: 6 }),
      fc.string({ unit: 'grapheme', maxLength: 3 }),
    ),
    { maxLength: 10 },
  )
  .map((parts) => parts.join('').replaceAll('\0', ''));

/** A name of at most 63 bytes (longer ones PostgreSQL truncates), made distinct by its prefix. */
const name = (prefix: string) =>
  hostile.map((s) => {
    let n = prefix + s;
    while (Buffer.byteLength(n) > 63) n = [...n].slice(0, -1).join('');
    return n;
  });

const lit = pgLib.escapeLiteral;
const id = pgLib.escapeIdentifier;

const scenario = fc.record({
  schema: name('s'),
  table: name('t'),
  column: name('c'),
  comment: hostile,
  columnDefault: hostile,
  sqlBody: hostile,
  plpgsqlBody: hostile,
  viewText: hostile,
  rows: fc.array(hostile, { maxLength: 6 }),
  publicRows: fc.array(hostile, { maxLength: 4 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** The objects, created by a role that is not a superuser (what it owns, it may comment on and fill). */
function objectsSql(s: Scenario): string {
  const t = `${id(s.schema)}.${id(s.table)}`;
  return [
    `CREATE TABLE ${t} (${id(s.column)} text DEFAULT ${lit(s.columnDefault)}, n int)`,
    `COMMENT ON TABLE ${t} IS ${lit(s.comment)}`,
    `COMMENT ON COLUMN ${t}.${id(s.column)} IS ${lit(s.comment)}`,
    `CREATE FUNCTION ${id(s.schema)}.f() RETURNS text LANGUAGE sql AS ${lit(`SELECT ${lit(s.sqlBody)}::text`)}`,
    `CREATE FUNCTION public.g() RETURNS text LANGUAGE plpgsql AS ${lit(`begin return ${lit(s.plpgsqlBody)}; end`)}`,
    `CREATE VIEW public.v AS SELECT ${lit(s.viewText)}::text AS ${id(s.column)}`,
    `COMMENT ON FUNCTION public.g() IS ${lit(s.viewText)}`,
    ...s.rows.map((r, i) => `INSERT INTO ${t} VALUES (${lit(r)}, ${i})`),
    `CREATE TABLE public.plain (a text, "b c" text)`,
    ...s.publicRows.map((r) => `INSERT INTO public.plain VALUES (${lit(r)}, ${lit(r.split('').reverse().join(''))})`),
  ].join(';\n');
}

/** The real pg_dump's plain output, scanned as a backup scans it. */
async function scanDump(db: string): Promise<CopyScanner> {
  const { host, port } = pg();
  const child = spawn(
    clientBin('pg_dump'),
    ['--no-password', '--format=plain', '-h', host, '-p', String(port), '-U', 'postgres', '-d', db],
    { env: { ...process.env, PGOPTIONS: '-c TimeZone=UTC -c bytea_output=hex' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const scanner = new CopyScanner(await rowHasher());
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  await pipeline(child.stdout, scanner, sink);
  expect(await exited, stderr).toBe(0);
  return scanner;
}

describe('the plain-dump scanner over hostile database contents (property, real pg_dump)', () => {
  const role = `pgdr_scan_${process.pid}`;

  beforeAll(() => {
    psql('postgres', `CREATE ROLE ${role} NOSUPERUSER NOCREATEDB NOCREATEROLE`);
  });

  afterAll(() => {
    psql('postgres', `DROP ROLE IF EXISTS ${role}`);
  });

  it('reads exactly the catalog tables, their columns, row counts and checksums', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const db = createDatabase('scanhostile');
        const { host, port } = pg();
        const c = new pgLib.Client({ host, port, user: 'postgres', database: db });
        await c.connect();
        try {
          await c.query(`ALTER DATABASE ${id(db)} OWNER TO ${role}`);
          await c.query(`ALTER SCHEMA public OWNER TO ${role}`);
          await c.query(`CREATE SCHEMA ${id(s.schema)} AUTHORIZATION ${role}`);
          await c.query(`SET ROLE ${role}`);
          await c.query(objectsSql(s));
          await c.query('RESET ROLE');

          const scanner = await scanDump(db);
          const listed = await listTables(c);
          expect(listed).toHaveLength(2);
          const tables = tablesOfDump(scanner, listed);
          expect(tables.map(tableKey).sort()).toEqual(listed.map(tableKey).sort());
          for (const t of tables) {
            const r = await c.query<{ n: string; cols: string[] }>(
              `SELECT (SELECT count(*) FROM ONLY ${qualifiedName(t)})::text AS n,
                      array(SELECT attname::text FROM pg_attribute
                            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum) AS cols`,
              [qualifiedName(t)],
            );
            const row = r.rows[0] as { n: string; cols: string[] };
            expect(parseColumnList(t.columns ?? ''), tableKey(t)).toEqual(row.cols);
            expect(t.rows, tableKey(t)).toBe(Number(row.n));
            expect(t.checksum, tableKey(t)).toBe(await referenceChecksum(db, t));
          }
        } finally {
          await c.end();
          dropDatabase(db);
        }
      }),
      { numRuns: 25 },
    );
  }, 600_000);
});
