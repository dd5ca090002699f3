/**
 * docs/runbook.md, executed: every block marked `<!-- runbook:step -->` runs unchanged, in order, in one
 * bash session against backups made by the bundled backup action. Every tool is the stock one: `aws` is
 * Debian 12's aws CLI 2.9 (/usr/bin/aws, which ignores AWS_ENDPOINT_URL: the runbook must pass
 * --endpoint-url) talking to the test S3 server; gpg, openssl, gunzip, jq, sha256sum, psql and
 * pg_restore are the real tools. Restores go to the run's server (over a live database) and to a SECOND,
 * fresh cluster that has none of the source's roles.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runAction } from '../harness/action.js';
import { clientBin, createDatabase, databasesLike, pg, pgUrl, psql, psqlOn, s3Endpoint } from '../harness/context.js';
import { AWKWARD_SCHEMA_SQL, contentsOf } from '../harness/fixtures.js';
import { createGnupgHome, leftoverGpgAgents, removeGnupgHome } from '../harness/gnupg.js';
import { makeKeyPair } from '../harness/gpg-keys.js';
import { freePort, type PgServer, startPostgres } from '../harness/postgres.js';
import { createBucket, S3_TEST_CREDENTIALS, testS3Client } from '../harness/s3.js';

const RUNBOOK = path.join(REPO_ROOT, 'docs', 'runbook.md');
/** Debian's aws CLI (scripts/install-prerequisites.sh installs it); PGDR_TEST_AWS where the OS has none. */
const AWS_BIN = process.env.PGDR_TEST_AWS ?? '/usr/bin/aws';

function runbookSteps(): string[] {
  const text = fs.readFileSync(RUNBOOK, 'utf8');
  return [...text.matchAll(/<!-- runbook:step -->\s*```bash\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

/** A directory holding only `aws` → AWS_BIN, put first on PATH (a pyenv `aws` 1.x may come first otherwise). */
function awsOnPath(): string {
  if (!fs.existsSync(AWS_BIN)) {
    throw new Error(`${AWS_BIN} is missing: run scripts/install-prerequisites.sh (Debian package awscli)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aws-bin-'));
  fs.symlinkSync(AWS_BIN, path.join(dir, 'aws'));
  return dir;
}

interface RunbookRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the runbook's steps in `cwd` (a fresh directory unless given) against `server` (the run's
 * PostgreSQL unless given). GNUPGHOME points at a home of the test's: the runbook must leave it untouched.
 */
function runRunbook(
  env: Record<string, string>,
  options: { cwd?: string; server?: { host: string; port: number } } = {},
): RunbookRun {
  const cwd = options.cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-'));
  const gnupghome = createGnupgHome('runbook-own-gpg-');
  const awsDir = awsOnPath();
  const server = options.server ?? pg();
  const script = ['set -euo pipefail', 'umask 077', ...runbookSteps()].join('\n');
  try {
    const r = spawnSync('bash', ['-c', script], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        PATH: [awsDir, pg().binDir, process.env.PATH].join(path.delimiter),
        AWS_ENDPOINT_URL: s3Endpoint(),
        AWS_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_REGION: 'us-east-1',
        AWS_CONFIG_FILE: path.join(cwd, 'no-aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(cwd, 'no-aws-credentials'),
        AWS_EC2_METADATA_DISABLED: 'true',
        PGHOST: server.host,
        PGPORT: String(server.port),
        PGUSER: 'postgres',
        GNUPGHOME: gnupghome,
        ...env,
      },
    });
    // The runbook imports keys into a home of its own, never into the user's.
    expect(fs.readdirSync(gnupghome)).toEqual([]);
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    removeGnupgHome(gnupghome);
    fs.rmSync(awsDir, { recursive: true, force: true });
    if (!options.cwd) fs.rmSync(cwd, { recursive: true, force: true });
  }
}

/** Runs the runbook, which must succeed; returns its stdout. */
function followRunbook(
  env: Record<string, string>,
  options: { cwd?: string; server?: { host: string; port: number } } = {},
): string {
  const r = runRunbook(env, options);
  if (r.status !== 0)
    throw new Error(`the runbook failed (${r.status})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}

/** Two backups a second apart, then more changes: the runbook must bring back the second. */
async function twoBackups(
  inputs: Record<string, string>,
): Promise<{ target: string; bucket: string; atNewest: Record<string, string>; newestManifest: string }> {
  const target = createDatabase('runbook');
  psql(target, AWKWARD_SCHEMA_SQL);
  const bucket = await createBucket(s3Endpoint());
  const common = {
    'database-url': pgUrl(target),
    destination: `s3://${bucket}/backups`,
    's3-endpoint': s3Endpoint(),
    name: 'rb',
    ...inputs,
  };
  const first = await runAction('backup', common);
  expect(first.errors).toEqual([]);
  psql(target, `INSERT INTO sales.orders VALUES (500001, 1, 5.00, now(), 'between the backups')`);
  await new Promise((r) => setTimeout(r, 1100)); // keys have second precision
  const second = await runAction('backup', common);
  expect(second.errors).toEqual([]);
  expect((second.outputs.key as string) > (first.outputs.key as string)).toBe(true);
  const atNewest = contentsOf(target);
  psql(target, `INSERT INTO sales.orders VALUES (500002, 1, 5.00, now(), 'after the newest backup')`);
  // A newer data object without a manifest (an interrupted run): the runbook must not pick it.
  await testS3Client(s3Endpoint()).send(
    new PutObjectCommand({ Bucket: bucket, Key: 'backups/rb/2099/01/01/rb-20990101T000000Z.sql.gz.gpg', Body: 'junk' }),
  );
  return { target, bucket, atNewest, newestManifest: second.outputs['manifest-key'] as string };
}

describe('docs/runbook.md, followed with stock tools', () => {
  it('has the steps the test runs; every aws command passes the endpoint; aws is the stock CLI 2', () => {
    const steps = runbookSteps();
    expect(steps.length).toBe(9);
    const script = steps.join('\n');
    expect(script).toMatch(/s3 cp/);
    // aws CLI before 2.13 ignores AWS_ENDPOINT_URL: every aws command line passes it.
    const awsLines = script.split('\n').filter((l) => /\baws\b/.test(l) && !/^\s*#/.test(l));
    expect(awsLines.length).toBeGreaterThan(0);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash text, not a template
    const passesEndpoint = 'aws ${AWS_ENDPOINT_URL:+--endpoint-url "$AWS_ENDPOINT_URL"} s3';
    for (const line of awsLines) expect(line).toContain(passesEndpoint);
    expect(execFileSync(AWS_BIN, ['--version'], { encoding: 'utf8' })).toMatch(/^aws-cli\/2\./);
  });

  it('restores the newest plain, passphrase-encrypted backup over the live database', async () => {
    const passphrase = `runbook pass ${Date.now()}`;
    const { target, bucket, atNewest } = await twoBackups({ 'encryption-passphrase': passphrase });
    const passFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pass-')), 'passphrase.txt');
    fs.writeFileSync(passFile, passphrase, { mode: 0o600 });
    const out = followRunbook({
      BUCKET: bucket,
      PREFIX: 'backups',
      NAME: 'rb',
      TARGET: target,
      PASSPHRASE_FILE: passFile,
    });
    expect(out).toMatch(/all \d+ tables match the manifest/);
    expect(out).toMatch(new RegExp(`the previous ${target} is kept as ${target}_pre_restore_\\d{8}_\\d{6}`));
    expect(out).toContain('already present, left as they are: postgres');
    expect(contentsOf(target)).toEqual(atNewest);
    expect(databasesLike(`${target}_pre_restore_`).length).toBe(1);
  });

  it('restores the newest custom-format backup encrypted to a public key, with the private key', async () => {
    const key = makeKeyPair('runbook <runbook@example.com>', 'runbook key passphrase');
    const signer = makeKeyPair('runbook signer <signer@example.com>');
    const { target, bucket, atNewest } = await twoBackups({
      format: 'custom',
      'encryption-public-key': key.publicKey,
      'signing-key': signer.privateKey,
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keys-'));
    fs.writeFileSync(path.join(dir, 'passphrase.txt'), key.passphrase as string, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'private-key.asc'), key.privateKey, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'signing-public.asc'), signer.publicKey, { mode: 0o600 });
    const out = followRunbook({
      BUCKET: bucket,
      PREFIX: 'backups',
      NAME: 'rb',
      TARGET: target,
      PASSPHRASE_FILE: path.join(dir, 'passphrase.txt'),
      PRIVATE_KEY_FILE: path.join(dir, 'private-key.asc'),
      SIGNING_PUBLIC_KEY_FILE: path.join(dir, 'signing-public.asc'),
    });
    expect(out).toMatch(/newest authentic manifest: backups\/rb\//);
    expect(out).toMatch(/all \d+ tables match the manifest/);
    expect(contentsOf(target)).toEqual(atNewest);
  });

  it('skips newer manifests planted in the bucket: unsigned, with a forged HMAC, a genuine one copied under a newer key', async () => {
    const passphrase = `runbook pass ${Date.now()}`;
    const {
      target,
      bucket,
      atNewest,
      newestManifest: genuineManifest,
    } = await twoBackups({
      'encryption-passphrase': passphrase,
    });
    const client = testS3Client(s3Endpoint());
    const put = (Key: string, Body: string): Promise<unknown> =>
      client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    const get = async (Key: string): Promise<string> =>
      (await client.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body?.transformToString() as Promise<string>;
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-planted-'));
    const marker = path.join(scratch, 'payload-ran');
    const genuine = JSON.parse(await get(genuineManifest)) as { object: { key: string }; dump: object };
    // An unencrypted "backup" whose body would run a shell command, without and with a forged .sig.
    const body = `\\! touch ${marker}\n`;
    const sha256 = createHash('sha256').update(body).digest('hex');
    const planted = ['20980101T000000Z', '20980102T000000Z'].map((stamp) => {
      const stem = `backups/rb/${stamp.slice(0, 4)}/${stamp.slice(4, 6)}/${stamp.slice(6, 8)}/rb-${stamp}`;
      const at = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T00:00:00.000Z`;
      const manifest = {
        ...genuine,
        createdAt: at,
        object: { key: `${stem}.sql`, size: body.length, sha256 },
        dump: { ...genuine.dump, compression: 'none' },
        encryption: { scheme: 'none', cipher: null, keyFingerprint: null },
      };
      return { stem, manifest: `${JSON.stringify(manifest, null, 2)}\n` };
    });
    const [unsigned, forged] = planted as [(typeof planted)[0], (typeof planted)[0]];
    await put(`${unsigned.stem}.sql`, body);
    await put(`${unsigned.stem}.manifest.json`, unsigned.manifest);
    await put(`${forged.stem}.sql`, body);
    await put(`${forged.stem}.manifest.json.sig`, `pgdr-hmac-sha256-v1 ${'0'.repeat(16)} ${'ab'.repeat(32)}\n`);
    await put(`${forged.stem}.manifest.json`, forged.manifest);
    // The genuine newest manifest and its .sig, byte for byte, under a newer key.
    const replay = 'backups/rb/2098/01/03/rb-20980103T000000Z';
    await put(`${replay}.manifest.json`, await get(genuineManifest));
    await put(`${replay}.manifest.json.sig`, await get(`${genuineManifest}.sig`));
    const passFile = path.join(scratch, 'passphrase.txt');
    fs.writeFileSync(passFile, passphrase, { mode: 0o600 });
    const out = followRunbook({
      BUCKET: bucket,
      PREFIX: 'backups',
      NAME: 'rb',
      TARGET: target,
      PASSPHRASE_FILE: passFile,
    });
    expect(out).toContain(`skipped ${replay}.manifest.json: it describes ${genuine.object.key}`);
    expect(out).toContain(`skipped ${forged.stem}.manifest.json: its HMAC does not match`);
    expect(out).toContain(`skipped ${unsigned.stem}.manifest.json: no .sig`);
    expect(out).toContain(`newest authentic manifest: ${genuineManifest}`);
    expect(out).toMatch(/all \d+ tables match the manifest/);
    expect(contentsOf(target)).toEqual(atNewest);
    expect(fs.existsSync(marker)).toBe(false);
    fs.rmSync(scratch, { recursive: true, force: true });
  });
});

// ---------------------------------------------------------------------------------------------------
// A second, fresh cluster with none of the source's roles.

const S = `${process.pid}_${Date.now().toString(36)}`;
// Names that must be quoted (a capital, a space, a double quote): the runbook's SQL must quote them.
const OWNER = `App "Owner" ${S}`;
const BASE = `app_base_${S}`;
const RO = `app_ro_${S}`;
const APP_ROLES = [OWNER, BASE, RO];
const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
/** As format('%I') prints a name (these names are no keywords). */
const ident = (name: string): string => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : q(name));

type Sql = (sql: string) => string;

function sqlOn(server: { host: string; port: number }, database: string): Sql {
  return (sql) => psqlOn(server, database, sql);
}

/**
 * What must come back: every table's and materialized view's rows (count and digest of the sorted
 * rows), every sequence's value, every large object (owner, grants, contents), the owner and grants of
 * every relation and schema, and the extensions. Equal maps on two clusters: the same database.
 */
function snapshotOf(sql: Sql): Record<string, string> {
  const out: Record<string, string> = {};
  const relations = sql(
    `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
     ORDER BY 1`,
  )
    .split('\n')
    .filter(Boolean);
  for (const t of relations) {
    out[`rows ${t}`] = sql(
      `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3;
       SELECT count(*) || ':' || coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '-') FROM ${t} r`,
    );
  }
  out.sequences = sql(
    `SELECT string_agg(format('%I.%I', schemaname, sequencename) || '=' || coalesce(last_value::text, 'unset'), ' '
                       ORDER BY schemaname, sequencename) FROM pg_sequences`,
  );
  out['large objects'] = sql(
    `SELECT count(*) || ' ' || coalesce(string_agg(oid || ' ' || pg_get_userbyid(lomowner) || ' ' || coalesce(lomacl::text, '')
              || ' ' || md5(lo_get(oid)), E'\\n' ORDER BY oid), '') FROM pg_largeobject_metadata`,
  );
  out.owners = sql(
    `SELECT string_agg(line, E'\\n' ORDER BY line) FROM (
       SELECT format('%I.%I', n.nspname, c.relname) || ' ' || c.relkind::text || ' ' || pg_get_userbyid(c.relowner) || ' '
              || coalesce(c.relacl::text, '') AS line
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'v', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       UNION ALL
       SELECT 'schema ' || nspname || ' ' || pg_get_userbyid(nspowner) || ' ' || coalesce(nspacl::text, '')
       FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema') x`,
  );
  out.extensions = sql(`SELECT string_agg(extname || ' ' || extversion, ', ' ORDER BY extname) FROM pg_extension`);
  return out;
}

describe('docs/runbook.md onto a second, fresh cluster that has none of the source roles', () => {
  let fresh: PgServer | undefined;
  let source = '';
  let marker = '';
  const scratch: string[] = [];

  beforeAll(async () => {
    const markerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-marker-'));
    fs.chmodSync(markerDir, 0o777); // COPY … TO PROGRAM would run as the server's OS user
    scratch.push(markerDir);
    marker = path.join(markerDir, 'copy-to-program-ran');
    source = createDatabase('runbook_src');
    psql(
      'postgres',
      `CREATE ROLE ${q(BASE)} NOLOGIN;
       CREATE ROLE ${q(OWNER)} NOLOGIN IN ROLE ${q(BASE)};
       CREATE ROLE ${q(RO)} NOLOGIN NOINHERIT;`,
    );
    psql(source, AWKWARD_SCHEMA_SQL);
    // Lines in a comment that look like a data section whose COPY runs a program: a runbook that runs
    // the dump's COPY lines would run it.
    const planted = [
      'planted',
      '--',
      '-- Data for Name: items; Type: TABLE DATA; Schema: app; Owner: -',
      '--',
      '',
      `COPY (SELECT 1) TO PROGRAM $$touch ${marker}$$; SELECT 1 FROM stdin;`,
      '\\.',
      '',
    ].join('\n');
    psql(
      source,
      `CREATE EXTENSION citext;
       CREATE SCHEMA app AUTHORIZATION ${q(OWNER)};
       SET ROLE ${q(OWNER)};
       CREATE TABLE app.items (id serial PRIMARY KEY, name citext NOT NULL, "Price €" numeric);
       INSERT INTO app.items (name, "Price €") SELECT 'Item ' || g, g * 1.5 FROM generate_series(1, 50) g;
       ALTER TABLE app.items DROP COLUMN "Price €";
       ALTER TABLE app.items ADD COLUMN note text DEFAULT 'n';
       CREATE SEQUENCE app.counter;
       SELECT setval('app.counter', 42);
       CREATE MATERIALIZED VIEW app.item_names AS SELECT name FROM app.items;
       GRANT USAGE ON SCHEMA app TO ${q(RO)};
       GRANT SELECT ON app.items, app.item_names TO ${q(RO)};
       SELECT lo_from_bytea(0, 'large object bytes');
       COMMENT ON TABLE app.items IS ${lit(planted)};
       RESET ROLE;`,
    );
    const lo = psql(source, 'SELECT oid FROM pg_largeobject_metadata');
    psql(source, `GRANT SELECT ON LARGE OBJECT ${lo} TO ${q(RO)}`);
    // The planted lines are in a plain dump as a runbook that followed line patterns would see them.
    const dump = execFileSync(clientBin('pg_dump'), ['-d', pgUrl(source)], { encoding: 'utf8', maxBuffer: 256 << 20 });
    expect(dump).toContain(
      `\n-- Data for Name: items; Type: TABLE DATA; Schema: app; Owner: -\n--\n\nCOPY (SELECT 1) TO PROGRAM $$touch ${marker}$$; SELECT 1 FROM stdin;\n\\.\n`,
    );
    fresh = await startPostgres();
  });

  afterAll(() => {
    fresh?.stop();
    if (source) psql('postgres', `DROP DATABASE IF EXISTS ${q(source)} WITH (FORCE)`);
    psql('postgres', APP_ROLES.map((r) => `DROP ROLE IF EXISTS ${q(r)};`).join('\n'));
    for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the roles and the database, restores every table, sequence and large object; runs again; BEFORE picks the older backup', async () => {
    const server = fresh as PgServer;
    const onFresh = sqlOn(server, 'postgres');
    const passphrase = `runbook fresh ${Date.now()}`;
    const bucket = await createBucket(s3Endpoint());
    const common = {
      'database-url': pgUrl(source),
      destination: `s3://${bucket}/backups`,
      's3-endpoint': s3Endpoint(),
      name: 'app',
      'encryption-passphrase': passphrase,
    };
    const first = await runAction('backup', common);
    expect(first.errors).toEqual([]);
    const atFirst = snapshotOf(sqlOn(pg(), source));
    psql(
      source,
      `INSERT INTO app.items (name) VALUES ('After The First');
       SELECT setval('app.counter', 4242);
       SET ROLE ${q(OWNER)};
       SELECT lo_from_bytea(0, 'second large object');
       REFRESH MATERIALIZED VIEW app.item_names;
       RESET ROLE;
       INSERT INTO sales.orders VALUES (500001, 1, 5.00, now(), 'between the backups');`,
    );
    await new Promise((r) => setTimeout(r, 1100)); // keys have second precision
    const second = await runAction('backup', common);
    expect(second.errors).toEqual([]);
    const atSecond = snapshotOf(sqlOn(pg(), source));
    expect(atSecond).not.toEqual(atFirst);
    psql(source, `INSERT INTO sales.orders VALUES (500002, 1, 5.00, now(), 'after the newest backup')`);

    const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-keys-'));
    scratch.push(keyDir);
    fs.writeFileSync(path.join(keyDir, 'passphrase.txt'), passphrase, { mode: 0o600 });
    const env = {
      BUCKET: bucket,
      PREFIX: 'backups',
      NAME: 'app',
      TARGET: 'appdb',
      PASSPHRASE_FILE: path.join(keyDir, 'passphrase.txt'),
    };
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-fresh-'));
    scratch.push(cwd);
    expect(onFresh(`SELECT count(*) FROM pg_roles WHERE rolname LIKE ${lit(`%${S}`)}`)).toBe('0');
    expect(onFresh(`SELECT count(*) FROM pg_database WHERE datname = 'appdb'`)).toBe('0');

    const out = followRunbook(env, { cwd, server });
    expect(out).toContain(`newest authentic manifest: ${second.outputs['manifest-key']}`);
    for (const role of APP_ROLES) expect(out).toContain(`created role ${ident(role)} (NOLOGIN, no password)`);
    expect(out).toMatch(
      /ignored: data section \d+ of the dump names no table of appdb_restored_\d{8}_\d{6}: COPY \(SELECT 1\) TO PROGRAM/,
    );
    expect(out).toMatch(/all \d+ tables match the manifest/);
    expect(fs.existsSync(marker)).toBe(false);
    expect(
      onFresh(`SELECT string_agg(rolname || ' login=' || rolcanlogin || ' inherit=' || rolinherit || ' in=' ||
                 coalesce((SELECT string_agg(p.rolname, ',') FROM pg_auth_members m JOIN pg_roles p ON p.oid = m.roleid
                           WHERE m.member = r.oid), ''), E'\\n' ORDER BY rolname)
               FROM pg_roles r WHERE rolname LIKE ${lit(`%${S}`)}`).split('\n'),
    ).toEqual(
      [
        `${OWNER} login=false inherit=true in=${BASE}`,
        `${BASE} login=false inherit=true in=`,
        `${RO} login=false inherit=false in=`,
      ].sort(),
    );
    expect(snapshotOf(sqlOn(server, 'appdb'))).toEqual(atSecond);
    // Every step's files are gone: the work directory with the plaintext and the GnuPG homes.
    expect(fs.readdirSync(cwd)).toEqual([]);

    // Run again in the same directory, after a session that was killed and left its work directory.
    fs.mkdirSync(path.join(cwd, 'pgdr-restore', 'gnupg'), { recursive: true });
    fs.writeFileSync(path.join(cwd, 'pgdr-restore', 'app-20260101T000000Z.sql.gz'), 'left by a killed session');
    const again = followRunbook(env, { cwd, server });
    expect(again).not.toContain('created role');
    expect(again).toContain('already present, left as they are:');
    expect(again).toMatch(/the previous appdb is kept as appdb_pre_restore_\d{8}_\d{6}/);
    expect(again).toMatch(/all \d+ tables match the manifest/);
    expect(snapshotOf(sqlOn(server, 'appdb'))).toEqual(atSecond);
    expect(fs.readdirSync(cwd)).toEqual([]);

    // Damage found after the fact: the newest backup taken strictly before the second one's second.
    const stamp = /-(\d{8}T\d{6}Z)\.manifest\.json$/.exec(second.outputs['manifest-key'] as string)?.[1] as string;
    const before = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
    const older = followRunbook({ ...env, BEFORE: before }, { cwd, server });
    expect(older).toContain(`newest authentic manifest before ${before}: ${first.outputs['manifest-key']}`);
    expect(older).toMatch(/all \d+ tables match the manifest/);
    expect(snapshotOf(sqlOn(server, 'appdb'))).toEqual(atFirst);
    expect(onFresh(`SELECT count(*) FROM pg_database WHERE datname LIKE 'appdb_pre_restore_%'`)).toBe('2');
  });

  it('a failing step leaves neither the decrypted dump nor the imported private key behind', async () => {
    const key = makeKeyPair('runbook fail <fail@example.com>', 'fail key passphrase');
    const signer = makeKeyPair('runbook fail signer <fail-signer@example.com>');
    const bucket = await createBucket(s3Endpoint());
    const backup = await runAction('backup', {
      'database-url': pgUrl(source),
      destination: `s3://${bucket}/backups`,
      's3-endpoint': s3Endpoint(),
      name: 'app',
      format: 'custom',
      'encryption-public-key': key.publicKey,
      'signing-key': signer.privateKey,
    });
    expect(backup.errors).toEqual([]);
    const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-keys-'));
    scratch.push(keyDir);
    fs.writeFileSync(path.join(keyDir, 'passphrase.txt'), key.passphrase as string, { mode: 0o600 });
    fs.writeFileSync(path.join(keyDir, 'private-key.asc'), key.privateKey, { mode: 0o600 });
    fs.writeFileSync(path.join(keyDir, 'signing-public.asc'), signer.publicKey, { mode: 0o600 });
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-fail-'));
    scratch.push(cwd);
    // No server listens there: the first step that needs PostgreSQL (the roles, after decrypting) fails.
    const closed = { host: '127.0.0.1', port: await freePort() };
    const r = runRunbook(
      {
        BUCKET: bucket,
        PREFIX: 'backups',
        NAME: 'app',
        TARGET: 'appdb',
        PASSPHRASE_FILE: path.join(keyDir, 'passphrase.txt'),
        PRIVATE_KEY_FILE: path.join(keyDir, 'private-key.asc'),
        SIGNING_PUBLIC_KEY_FILE: path.join(keyDir, 'signing-public.asc'),
      },
      { cwd, server: closed },
    );
    expect(r.status).not.toBe(0);
    // It got as far as the plaintext (step 4 lists it), then failed on the connection.
    expect(r.stdout).toMatch(/ app-\d{8}T\d{6}Z\.dump\n/);
    expect(r.stderr).toMatch(/connection to server at "127\.0\.0\.1", port \d+ failed|could not connect/);
    expect(fs.readdirSync(cwd)).toEqual([]);
    expect(leftoverGpgAgents(cwd)).toEqual([]);
  });
});
