/**
 * pgdr-copy-xxh64-sum-v1 against a real server and the real pg_dump: the checksums a plain backup records
 * equal the sum recomputed from psql's own COPY output, verify passes on tables whose column order differs
 * from the catalog's and whose rows a restore puts in another order, and the read-back check catches
 * changed rows, missing rows and changed columns.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTables, mismatchesOf } from '../../src/core/backups/load.js';
import { COPY_CHECKSUM_ALGORITHM, type Manifest, parseManifest } from '../../src/core/manifest.js';
import { parseDatabaseUrl, pgSessionConfig } from '../../src/core/postgres/connection.js';
import { copyStats } from '../../src/core/postgres/copy-validate.js';
import { runCli } from '../harness/action.js';
import { clientBin, createDatabase, dropDatabase, pg, pgUrl, psql } from '../harness/context.js';
import { referenceChecksum } from '../harness/copy-reference.js';
import { AWKWARD_SCHEMA_SQL } from '../harness/fixtures.js';
import { makeKeyPair, type TestKeyPair } from '../harness/gpg-keys.js';

/** Tables whose dumped column list is not simply their catalog order, and rows longer than a chunk. */
const TRAPS_SQL = `
CREATE TABLE public.parent (a int);
CREATE TABLE public.child (c text) INHERITS (public.parent);
ALTER TABLE public.parent ADD COLUMN b int;
INSERT INTO public.child (a, c, b) VALUES (1, 'one', 10), (2, 'two', 20);
CREATE TABLE public.gen (x int, y int GENERATED ALWAYS AS (x * 2) STORED);
INSERT INTO public.gen (x) SELECT generate_series(1, 50);
CREATE TABLE public.dropped (a int, b text, c int);
ALTER TABLE public.dropped DROP COLUMN b;
INSERT INTO public.dropped VALUES (1, 2), (3, 4);
CREATE TABLE public.nocols ();
INSERT INTO public.nocols DEFAULT VALUES;
INSERT INTO public.nocols DEFAULT VALUES;
CREATE TABLE public."Ünïcødé ""q""" ("ç" text, big text);
INSERT INTO public."Ünïcødé ""q""" VALUES ('\\.', repeat('ß\\', 90000)), (E'\\\\.', NULL), (E'a\\nb', '');
-- In the source, row 4 sits after row 3 on a third page: row 99 filled page 1 and is deleted (not
-- vacuumed). A restore's COPY finds page 1's gap through the free space map and puts row 4 there, so the
-- restored table's order is 1, 4, 2, 3: the order a dump holds is not one a restore keeps.
CREATE TABLE public.shuffled (id int, pad text) WITH (autovacuum_enabled = false);
ALTER TABLE public.shuffled ALTER COLUMN pad SET STORAGE PLAIN;
INSERT INTO public.shuffled VALUES
  (1, repeat('a', 4900)), (99, repeat('e', 3100)), (2, repeat('b', 4000)), (3, repeat('c', 3500)), (4, repeat('d', 3100));
DELETE FROM public.shuffled WHERE id = 99;
-- What a table's owner can write: a comment that imitates a data section of a system catalog.
COMMENT ON TABLE public.gen IS E'x\\n\\n--\\n-- Data for Name: pg_publication; Type: TABLE DATA; Schema: pg_catalog; Owner: postgres\\n--\\n\\nCOPY pg_catalog.pg_publication (oid) FROM stdin;\\n1\\n\\\\.\\n\\n';
CREATE FUNCTION public.trap() RETURNS text LANGUAGE sql AS $$
SELECT 'COPY public.fake (a) FROM stdin;
\\.
'::text $$;
`;

describe('pgdr-copy-xxh64-sum-v1 (plain dumps)', () => {
  let source: string;
  let dir: string;
  let manifest: Manifest;
  let dumpFile: string;
  const scratch: string[] = [];
  // Unencrypted backups are vouched for by a signing key; verify checks them with its public key.
  let signing: TestKeyPair;
  const backupEnv = (): Record<string, string> => ({
    PGDR_ENCRYPTION_PASSPHRASE: '',
    PGDR_SIGNING_KEY: signing.privateKey,
  });
  const verifyEnv = (): Record<string, string> => ({
    PGDR_ENCRYPTION_PASSPHRASE: '',
    PGDR_SIGNING_PUBLIC_KEY: signing.publicKey,
  });

  beforeAll(async () => {
    signing = makeKeyPair('copysum signing <copysum@example.invalid>');
    source = createDatabase('copysum');
    psql(source, AWKWARD_SCHEMA_SQL + TRAPS_SQL);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-copysum-'));
    const r = await runCli(
      [
        'backup',
        '--database-url',
        pgUrl(source),
        '--output',
        dir,
        '--compression',
        'none',
        '--encryption',
        'none',
        '--json',
      ],
      backupEnv(),
    );
    expect(r.status, r.stderr).toBe(0);
    const outputs = JSON.parse(r.stdout) as Record<string, string>;
    dumpFile = path.join(dir, outputs.key as string);
    manifest = parseManifest(fs.readFileSync(path.join(dir, outputs['manifest-key'] as string)));
  }, 120_000);

  afterAll(() => {
    dropDatabase(source);
    for (const db of scratch) dropDatabase(db);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records every table with its dumped column list, rows and the checksum of its COPY output', async () => {
    expect(manifest.checksumAlgorithm).toBe(COPY_CHECKSUM_ALGORITHM);
    expect(manifest.dump.encoding).toBe('UTF8');
    const byName = Object.fromEntries(manifest.tables.map((t) => [`${t.schema}.${t.name}`, t]));
    expect(Object.keys(byName).sort()).toEqual(
      [
        'public.people',
        'sales.orders',
        'Weird Schema.Mixed Case "Table"',
        'public.empty_table',
        'public.parent',
        'public.child',
        'public.gen',
        'public.dropped',
        'public.nocols',
        'public.Ünïcødé "q"',
        'public.shuffled',
      ].sort(),
    );
    expect(byName['public.child']?.columns).toBe('a, c, b');
    expect(byName['public.gen']?.columns).toBe('x');
    expect(byName['public.dropped']?.columns).toBe('a, c');
    expect(byName['public.nocols']).toMatchObject({ columns: '', rows: 2 });
    for (const t of manifest.tables) {
      const label = `${t.schema}.${t.name}`;
      const count = Number(
        psql(source, `SELECT count(*) FROM ONLY "${t.schema.replaceAll('"', '""')}"."${t.name.replaceAll('"', '""')}"`),
      );
      expect(t.rows, label).toBe(count);
      expect(t.checksum, label).toBe(await referenceChecksum(source, t));
    }
    expect(manifest.totals.rows).toBe(manifest.tables.reduce((a, t) => a + t.rows, 0));
  });

  it('verify restores it and passes every table, the reordered inheritance child included', async () => {
    const r = await runCli(
      ['verify', '--destination', dir, '--database-url', pgUrl('postgres'), '--json'],
      verifyEnv(),
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, string>;
    expect(out.result).toBe('passed');
    expect(Number(out.tables)).toBe(manifest.tables.length);
    expect(Number(out.mismatches)).toBe(0);
  });

  it("with table-checksums false, counts each table's own rows (an inheritance parent without its children)", async () => {
    const countsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-counts-'));
    try {
      const args = ['--compression', 'none', '--encryption', 'none', '--table-checksums', 'false'];
      const b = await runCli(
        ['backup', '--database-url', pgUrl(source), '--output', countsDir, ...args, '--json'],
        backupEnv(),
      );
      expect(b.status, b.stderr).toBe(0);
      const m = parseManifest(
        fs.readFileSync(
          path.join(countsDir, (JSON.parse(b.stdout) as Record<string, string>)['manifest-key'] as string),
        ),
      );
      expect(m.checksumAlgorithm).toBe('none');
      expect(m.tables.find((t) => t.name === 'parent')?.rows).toBe(0);
      const v = await runCli(
        ['verify', '--destination', countsDir, '--database-url', pgUrl('postgres'), '--json'],
        verifyEnv(),
      );
      expect(v.status, v.stderr).toBe(0);
      expect((JSON.parse(v.stdout) as Record<string, string>).result).toBe('passed');
    } finally {
      fs.rmSync(countsDir, { recursive: true, force: true });
    }
  });

  it('reads no system catalog and no column list that is not a list of names (a manifest from a hostile bucket)', async () => {
    const marker = path.join(dir, 'program-ran');
    const gen = { schema: 'public', name: 'gen', rows: 50, checksum: '' };
    const hostile = [
      { schema: 'pg_catalog', name: 'pg_publication', rows: 0, checksum: '', columns: 'oid' },
      { schema: 'information_schema', name: 'sql_features', rows: 0, checksum: '', columns: '' },
      { ...gen, columns: `x) TO PROGRAM 'touch ${marker}' --` },
      { ...gen, name: 'dropped', columns: 'a, c); COPY public.gen TO PROGRAM $$true$$; --' },
      { ...gen, name: 'nocols', columns: 'X' },
    ];
    const got = await copyStats(pgSessionConfig(parseDatabaseUrl(pgUrl(source))), hostile, { concurrency: 2 });
    expect(got.map((t) => [t.schema, t.name, t.error])).toEqual([
      ['pg_catalog', 'pg_publication', 'not read: pg_catalog is a system schema, whose tables no backup lists'],
      [
        'information_schema',
        'sql_features',
        'not read: information_schema is a system schema, whose tables no backup lists',
      ],
      ['public', 'gen', "not read: the manifest's column list is not a list of column names"],
      ['public', 'dropped', "not read: the manifest's column list is not a list of column names"],
      ['public', 'nocols', "not read: the manifest's column list is not a list of column names"],
    ]);
    expect(fs.existsSync(marker)).toBe(false);
    // A name that needs quoting is quoted, not spliced: a column named like an injection is just a column.
    psql(
      source,
      'CREATE TABLE public.qcols ("a"", b) TO PROGRAM \'true\' --" int); INSERT INTO public.qcols VALUES (7)',
    );
    try {
      const [q] = await copyStats(
        pgSessionConfig(parseDatabaseUrl(pgUrl(source))),
        [{ schema: 'public', name: 'qcols', rows: 1, checksum: '', columns: '"a"", b) TO PROGRAM \'true\' --"' }],
        { concurrency: 1 },
      );
      expect(q).toMatchObject({
        rows: 1,
        checksum: await referenceChecksum(source, { schema: 'public', name: 'qcols' }),
      });
      expect(q?.error).toBeUndefined();
    } finally {
      psql(source, 'DROP TABLE public.qcols');
    }
  });

  it('the read-back finds a changed value, a lost row and a changed column list', async () => {
    const db = createDatabase('copysum_restored');
    scratch.push(db);
    const { host, port } = pg();
    execFileSync(
      clientBin('psql'),
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', 'postgres', '-d', db, '-f', dumpFile],
      { stdio: 'pipe' },
    );
    const config = pgSessionConfig(parseDatabaseUrl(pgUrl(db)));
    const check = async (): Promise<string[]> =>
      mismatchesOf(
        compareTables(manifest.tables, await copyStats(config, manifest.tables, { encoding: 'UTF8', concurrency: 2 })),
      ).map((c) => `${c.schema}.${c.name}: ${c.problem}`);

    expect(await check()).toEqual([]);
    // The restore did put rows in another order, and that is not a difference.
    const ids = (d: string): string => psql(d, "SELECT string_agg(id::text, ',') FROM public.shuffled");
    expect(ids(source)).toBe('1,2,3,4');
    expect(ids(db)).toBe('1,4,2,3');
    // Same length, same row count, one character different.
    psql(db, "UPDATE sales.orders SET note = upper(note) WHERE id = 4 AND note <> ''");
    psql(db, 'DELETE FROM public.gen WHERE x = 7');
    psql(db, 'ALTER TABLE public.dropped RENAME COLUMN c TO c2');
    const problems = await check();
    expect(problems).toHaveLength(3);
    expect(problems).toContain('sales.orders: same row count, different contents (checksum)');
    expect(problems).toContain('public.gen: 49 rows, expected 50');
    expect(problems.find((p) => p.startsWith('public.dropped: columns differ'))).toBeDefined();
  });
});
