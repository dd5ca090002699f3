/**
 * pgdr-copy-sha256-v1 against a real server and the real pg_dump: the checksums a plain backup records
 * can be recomputed with stock psql and sha256sum, verify passes on tables whose column order differs
 * from the catalog's, and the read-back check catches changed rows, missing rows and changed columns.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COPY_CHECKSUM_ALGORITHM, type Manifest, parseManifest } from '../../src/core/manifest.js';
import { copyStats } from '../../src/core/postgres/stats.js';
import { compareTables, mismatchesOf } from '../../src/core/verify.js';
import { runCli } from '../harness/action.js';
import { clientBin, createDatabase, dropDatabase, pg, pgUrl, psql } from '../harness/context.js';
import { AWKWARD_SCHEMA_SQL } from '../harness/fixtures.js';

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
CREATE FUNCTION public.trap() RETURNS text LANGUAGE sql AS $$
SELECT 'COPY public.fake (a) FROM stdin;
\\.
'::text $$;
`;

const CANONICAL =
  '-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex';

/** The README's recipe: psql's COPY … TO STDOUT piped into a SHA-256, nothing of ours. */
function stockChecksum(db: string, t: { schema: string; name: string; columns?: string }): string {
  const q = (s: string): string => `"${s.replaceAll('"', '""')}"`;
  const { host, port } = pg();
  const out = execFileSync(
    clientBin('psql'),
    [
      '-X',
      '-h',
      host,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      db,
      '-c',
      `COPY ${q(t.schema)}.${q(t.name)}${t.columns ? ` (${t.columns})` : ''} TO STDOUT`,
    ],
    { env: { ...process.env, PGOPTIONS: CANONICAL, PGCLIENTENCODING: 'UTF8' }, maxBuffer: 256 * 1024 * 1024 },
  );
  return createHash('sha256').update(out).digest('hex');
}

describe('pgdr-copy-sha256-v1 (plain dumps)', () => {
  let source: string;
  let dir: string;
  let manifest: Manifest;
  let dumpFile: string;
  const scratch: string[] = [];

  beforeAll(async () => {
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
      { PGDR_ENCRYPTION_PASSPHRASE: '' },
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

  it('records every table with its dumped column list, rows and a checksum stock tools reproduce', () => {
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
      expect(t.checksum, label).toBe(stockChecksum(source, t));
    }
    expect(manifest.totals.rows).toBe(manifest.tables.reduce((a, t) => a + t.rows, 0));
  });

  it('verify restores it and passes every table, the reordered inheritance child included', async () => {
    const r = await runCli(['verify', '--destination', dir, '--database-url', pgUrl('postgres'), '--json'], {
      PGDR_ENCRYPTION_PASSPHRASE: '',
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, string>;
    expect(out.result).toBe('passed');
    expect(Number(out.tables)).toBe(manifest.tables.length);
    expect(Number(out.mismatches)).toBe(0);
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
    const config = { host, port, user: 'postgres', database: db };
    const check = async (): Promise<string[]> =>
      mismatchesOf(
        compareTables(manifest.tables, await copyStats(config, manifest.tables, { encoding: 'UTF8', concurrency: 2 })),
      ).map((c) => `${c.schema}.${c.name}: ${c.problem}`);

    expect(await check()).toEqual([]);
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
