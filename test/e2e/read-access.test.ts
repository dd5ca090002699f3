import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/core/manifest.js';
import { REPO_ROOT, runAction } from '../harness/action.js';
import { clientBin, psqlOn } from '../harness/context.js';
import { extraServerBinDirs, findPgBinDir, type PgServer, serverMajorOf, startPostgres } from '../harness/postgres.js';

const PASSPHRASE = `read-access ${Date.now()}`;
const PASSWORD = `pw'"@:/ ${Date.now()}`;

function sql(server: PgServer, database: string, text: string, user = 'postgres'): string {
  return psqlOn(server, database, text, user);
}

function url(server: PgServer, database: string, user: string, password: string): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${server.host}:${server.port}/${database}`;
}

/** A directory whose pg_dump runs the system one and appends its arguments to `log` (version probes too). */
function recordingPgDump(): { dir: string; runs(): string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdump-rec-'));
  const log = path.join(dir, 'runs.log');
  fs.writeFileSync(
    path.join(dir, 'pg_dump'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${clientBin('pg_dump')}' "$@"\n`,
    { mode: 0o755 },
  );
  return {
    dir,
    runs: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
  };
}

/** An application database: tables and a sequence owned by app_owner, a large object, a read role's grant. */
const APP_SQL = `
DO $$ BEGIN CREATE ROLE app_owner NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT CREATE ON SCHEMA public TO app_owner;
SET ROLE app_owner;
CREATE TABLE public.orders (id serial PRIMARY KEY, note text);
INSERT INTO public.orders (note) VALUES ('first'), ('second');
CREATE SEQUENCE public.invoice_no;
SELECT nextval('public.invoice_no');
SELECT lo_from_bytea(0, 'large object bytes');
RESET ROLE;`;

/** What app_owner creates after the backup role was set up. */
const LATER_SQL = `
SET ROLE app_owner;
CREATE TABLE public.later (x int);
INSERT INTO public.later VALUES (1), (2), (3);
CREATE SEQUENCE public.later_no;
SELECT lo_from_bytea(0, 'a later large object');
RESET ROLE;`;

/** The ```sql blocks of a markdown file that create pgdr_backup. */
function roleExamples(file: string): string[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
  return [...text.matchAll(/```sql\n([\s\S]*?)```/g)]
    .map((m) => m[1] as string)
    .filter((b) => b.includes('CREATE ROLE pgdr_backup'));
}

/** The example run verbatim, with only the placeholder password replaced. */
function withPassword(example: string): string {
  expect(example.split("'…'").length).toBe(2);
  return example.replace("'…'", `'${PASSWORD.replace(/'/g, "''")}'`);
}

const servers = [findPgBinDir(), ...extraServerBinDirs()].map((binDir) => ({ binDir, major: serverMajorOf(binDir) }));

describe('the documented role examples', () => {
  it('the README and the backup action README show the same PostgreSQL 14+ example, and a 13 one', () => {
    const [root] = roleExamples('README.md');
    const [action14, action13] = roleExamples('actions/backup/README.md');
    expect(root).toContain('GRANT pg_read_all_data TO pgdr_backup;');
    expect(action14).toBe(root);
    expect(action13).toContain('GRANT SELECT ON ALL TABLES IN SCHEMA public TO pgdr_backup;');
    expect(action13).not.toContain('pg_read_all_data');
  });
});

describe.each(servers)('read access on PostgreSQL $major', ({ binDir, major }) => {
  let server: PgServer;
  let counter = 0;
  beforeAll(async () => {
    server = await startPostgres({ binDir });
  });
  afterAll(() => server?.stop());

  function appDatabase(): string {
    const db = `app${counter++}`;
    sql(server, 'postgres', `CREATE DATABASE ${db}`);
    sql(server, db, APP_SQL);
    return db;
  }

  async function backup(db: string, user: string, pgDump: { dir: string }) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-ra-'));
    const run = await runAction('backup', {
      'database-url': url(server, db, user, PASSWORD),
      destination: dir,
      'encryption-passphrase': PASSPHRASE,
      'pg-bin-dir': pgDump.dir,
    });
    return { run, dir };
  }

  it('a role without large-object rights fails the preflight before pg_dump starts, with the GRANT to run', async () => {
    const db = appDatabase();
    const role = `lo less ${major}`;
    sql(
      server,
      db,
      `CREATE ROLE "${role}" LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}';
       GRANT SELECT ON ALL TABLES IN SCHEMA public TO "${role}";
       GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO "${role}";`,
    );
    const oid = sql(server, db, 'SELECT oid FROM pg_largeobject_metadata');
    const pgDump = recordingPgDump();
    const { run, dir } = await backup(db, role, pgDump);
    expect(run.status).not.toBe(0);
    const error = run.errors.join('\n');
    expect(error).toContain(`preflight: the backup role "${role}" cannot read 1 large object`);
    expect(error).toContain(`GRANT SELECT ON LARGE OBJECT ${oid} TO "${role}";`);
    expect(error).toContain(`ALTER ROLE "${role}" SET lo_compat_privileges = on;`);
    expect(pgDump.runs()).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual([]);

    // The statements as given, run by the owner: the same backup then succeeds.
    const grants = error.split('\n').filter((l) => /^\s*GRANT /.test(l));
    expect(grants).toEqual([`  GRANT SELECT ON LARGE OBJECT ${oid} TO "${role}";`]);
    sql(server, db, `SET ROLE app_owner; ${grants.join('\n')}`);
    const again = await backup(db, role, pgDump);
    expect(again.run.errors).toEqual([]);
    expect(again.run.status).toBe(0);
    expect(pgDump.runs().length).toBeGreaterThan(0);
  });

  it('names unreadable schemas, tables and sequences with quoted GRANTs', async () => {
    const db = appDatabase();
    const role = `no rights ${major}`;
    sql(
      server,
      db,
      `CREATE ROLE "${role}" LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}';
       CREATE SCHEMA "Odd ""Schema""" AUTHORIZATION app_owner;
       SET ROLE app_owner; CREATE TABLE "Odd ""Schema""".t (x int); RESET ROLE;`,
    );
    const pgDump = recordingPgDump();
    const { run, dir } = await backup(db, role, pgDump);
    expect(run.status).not.toBe(0);
    const error = run.errors.join('\n');
    expect(error).toContain(`GRANT USAGE ON SCHEMA "Odd ""Schema""" TO "${role}";`);
    expect(error).toContain(`GRANT SELECT ON TABLE "Odd ""Schema"""."t" TO "${role}";`);
    expect(error).toContain(`GRANT SELECT ON TABLE "public"."orders" TO "${role}";`);
    expect(error).toContain(`GRANT SELECT ON SEQUENCE "public"."invoice_no" TO "${role}";`);
    expect(error).toContain(`GRANT SELECT ON SEQUENCE "public"."orders_id_seq" TO "${role}";`);
    if (major >= 14) expect(error).toContain(`GRANT pg_read_all_data TO "${role}";`);
    expect(pgDump.runs()).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  const examples = [
    ...(major >= 14 ? [{ file: 'README.md', index: 0, example: 'PostgreSQL 14+' }] : []),
    { file: 'actions/backup/README.md', index: 1, example: 'PostgreSQL 13' },
  ];
  it.each(examples)(
    'the $example role example of $file, run verbatim, backs up, later objects too',
    async ({ file, index }) => {
      // Its own cluster: the examples create the same role.
      const own = await startPostgres({ binDir });
      try {
        const db = 'app';
        sql(own, 'postgres', `CREATE DATABASE ${db}`);
        sql(own, db, APP_SQL);
        sql(own, db, withPassword(roleExamples(file)[index] as string));
        sql(own, db, LATER_SQL);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-ra-'));
        const run = await runAction('backup', {
          'database-url': url(own, db, 'pgdr_backup', PASSWORD),
          destination: dir,
          'encryption-passphrase': PASSPHRASE,
          'pg-bin-dir': path.dirname(clientBin('pg_dump')),
        });
        expect(run.errors).toEqual([]);
        expect(run.status).toBe(0);
        const manifest = parseManifest(fs.readFileSync(path.join(dir, run.outputs['manifest-key'] as string)));
        expect(manifest.dump.serverVersion.split('.')[0]).toBe(String(major));
        expect(manifest.tables.map((t) => [t.name, t.rows])).toEqual([
          ['later', 3],
          ['orders', 2],
        ]);
      } finally {
        own.stop();
      }
    },
  );
});
