/**
 * The bundled backup action, run as the runner runs it, against the run's PostgreSQL and S3 server;
 * the stored object is restored with stock tools only (gpg, gunzip, psql) and compared row by row.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/core/manifest.js';
import { formatTime } from '../../src/util/units.js';
import { runAction, runCli } from '../harness/action.js';
import { clientBin, createDatabase, pg, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { AWKWARD_SCHEMA_SQL, addLargeTable, contentsOf } from '../harness/fixtures.js';
import { withGnupgHome } from '../harness/gnupg.js';
import { createBucket, testS3Client } from '../harness/s3.js';

const PASSPHRASE = `pa ss'"@:/ word ${Date.now()}`;

/** A job summary as GitHub shows it: the report's backslash escapes resolved. */
const shown = (md: string): string => md.replace(/\\(.)/g, '$1');

function s3Inputs(bucket: string, prefix = 'backups'): Record<string, string> {
  return { destination: `s3://${bucket}/${prefix}`, 's3-endpoint': s3Endpoint(), 's3-force-path-style': 'true' };
}

async function getObject(bucket: string, key: string): Promise<Buffer> {
  const r = await testS3Client(s3Endpoint()).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

async function listKeys(bucket: string): Promise<string[]> {
  const r = await testS3Client(s3Endpoint()).send(new ListObjectsV2Command({ Bucket: bucket }));
  return (r.Contents ?? []).map((o) => o.Key as string);
}

/** Restores an encrypted plain dump with stock tools: gpg --decrypt | gunzip | psql. */
function restoreWithStockTools(file: string, passphrase: string, intoDb: string): void {
  const { host, port } = pg();
  withGnupgHome((home) =>
    execFileSync(
      'bash',
      [
        '-c',
        `set -o pipefail; gpg --batch --pinentry-mode loopback --passphrase-fd 3 --decrypt "$1" 3<<<"$PASS" | gunzip -c | "$PSQL" -X -q -v ON_ERROR_STOP=1 -h ${host} -p ${port} -U postgres -d "$2" >/dev/null`,
        'restore',
        file,
        intoDb,
      ],
      {
        env: {
          ...process.env,
          PASS: passphrase,
          PSQL: clientBin('psql'),
          GNUPGHOME: home,
        },
        stdio: 'pipe',
      },
    ),
  );
}

describe('backup action (bundled, as the runner runs it)', () => {
  let source: string;
  beforeAll(() => {
    source = createDatabase('awkward');
    psql(source, AWKWARD_SCHEMA_SQL);
    addLargeTable(source, 8);
  });

  it('stores an encrypted plain dump in S3 that gpg | gunzip | psql restores row for row', async () => {
    const bucket = await createBucket(s3Endpoint());
    const run = await runAction('backup', {
      'database-url': pgUrl(source),
      ...s3Inputs(bucket),
      'encryption-passphrase': PASSPHRASE,
    });
    expect(run.errors).toEqual([]);
    expect(run.status).toBe(0);
    const key = run.outputs.key as string;
    expect(key).toMatch(
      new RegExp(`^backups/${source}/\\d{4}/\\d{2}/\\d{2}/${source}-\\d{8}T\\d{6}Z\\.sql\\.gz\\.gpg$`),
    );
    expect(run.outputs['manifest-key']).toBe(key.replace(/\.sql\.gz\.gpg$/, '.manifest.json'));

    const data = await getObject(bucket, key);
    expect(String(data.length)).toBe(run.outputs.size);
    const { createHash } = await import('node:crypto');
    expect(createHash('sha256').update(data).digest('hex')).toBe(run.outputs.sha256);

    const manifest = parseManifest(await getObject(bucket, run.outputs['manifest-key'] as string));
    expect(manifest.object).toEqual({ key, size: data.length, sha256: run.outputs.sha256 });
    expect(manifest.tables.find((t) => t.schema === 'sales' && t.name === 'orders')?.rows).toBe(20000);
    expect(manifest.tables.find((t) => t.schema === 'Weird Schema')?.rows).toBe(3);
    expect(manifest.encryption.scheme).toBe('openpgp-passphrase');
    // The manifest's authenticator, written beside it: an HMAC keyed by the passphrase.
    const manifestKey = run.outputs['manifest-key'] as string;
    expect((await listKeys(bucket)).sort()).toEqual([key, manifestKey, `${manifestKey}.sig`].sort());
    expect((await getObject(bucket, `${manifestKey}.sig`)).toString()).toMatch(
      /^pgdr-hmac-sha256-v1 [0-9a-f]{16} [0-9a-f]{64}\n$/,
    );

    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dl-')), 'backup.sql.gz.gpg');
    fs.writeFileSync(file, data);
    const target = createDatabase('restored');
    restoreWithStockTools(file, PASSPHRASE, target);
    expect(contentsOf(target)).toEqual(contentsOf(source));

    expect(run.summary).toContain('Backup of');
    expect(shown(run.summary)).toContain(key);
    expect(run.visible + run.stderr + run.summary).not.toContain(PASSPHRASE);
  });

  it('writes to a local directory with pgdr backup --output', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-out-'));
    const r = await runCli(['backup', '--database-url', pgUrl(source), '--output', dir, '--json'], {
      PGDR_ENCRYPTION_PASSPHRASE: PASSPHRASE,
    });
    expect(r.stderr).not.toContain(PASSPHRASE);
    expect(r.status).toBe(0);
    const outputs = JSON.parse(r.stdout) as Record<string, string>;
    const file = path.join(dir, outputs.key as string);
    expect(fs.statSync(file).size).toBe(Number(outputs.size));
    expect(fs.existsSync(path.join(dir, outputs['manifest-key'] as string))).toBe(true);
    const target = createDatabase('restored_local');
    restoreWithStockTools(file, PASSPHRASE, target);
    expect(contentsOf(target)).toEqual(contentsOf(source));
  });

  it('table-checksums: false records exact row counts only, and verify checks those', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-counts-'));
    const run = await runAction('backup', {
      'database-url': pgUrl(source),
      destination: dir,
      'encryption-passphrase': PASSPHRASE,
      'table-checksums': 'false',
    });
    expect(run.errors).toEqual([]);
    const manifest = parseManifest(fs.readFileSync(path.join(dir, run.outputs['manifest-key'] as string)));
    expect(manifest.checksumAlgorithm).toBe('none');
    expect(manifest.tables.find((t) => t.schema === 'sales' && t.name === 'orders')).toMatchObject({
      rows: 20000,
      checksum: '',
    });
    const verify = await runAction('verify', {
      destination: dir,
      name: source,
      'database-url': pgUrl('postgres'),
      'encryption-passphrase': PASSPHRASE,
    });
    expect(verify.errors).toEqual([]);
    expect(verify.outputs.result).toBe('passed');
    expect(verify.summary).toContain('not recorded');
  });

  it('refuses to run without a key unless encryption: none is explicit, before any I/O', async () => {
    const bucket = await createBucket(s3Endpoint());
    const run = await runAction('backup', { 'database-url': pgUrl(source), ...s3Inputs(bucket) });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/encryption-passphrase.*encryption-public-key.*encryption: none/);
    expect(await listKeys(bucket)).toEqual([]);
    // Unencrypted backups must be signed: nothing else tells them from ones planted in the bucket.
    const unsigned = await runAction('backup', {
      'database-url': pgUrl(source),
      ...s3Inputs(bucket),
      encryption: 'none',
    });
    expect(unsigned.status).not.toBe(0);
    expect(unsigned.errors.join('\n')).toMatch(/'encryption: none' needs 'signing-key'/);
    expect(await listKeys(bucket)).toEqual([]);
  });

  it('fails when pg_dump fails mid-stream, leaving no manifest and no multipart upload', async () => {
    const db = createDatabase('partial');
    psql(db, AWKWARD_SCHEMA_SQL);
    addLargeTable(db, 20);
    // Readable (the preflight passes), but under row-level security, which pg_dump refuses when it reaches
    // the table: the last one, after the large tables have streamed.
    psql(
      db,
      `CREATE TABLE zz_secret (x int); INSERT INTO zz_secret VALUES (1); ALTER TABLE zz_secret ENABLE ROW LEVEL SECURITY;`,
    );
    const password = `r'o "p@ss:/${Date.now()}`;
    psql(
      'postgres',
      `DROP ROLE IF EXISTS reader_${db}; CREATE ROLE reader_${db} LOGIN PASSWORD '${password.replace(/'/g, "''")}';`,
    );
    psql(
      db,
      `GRANT USAGE ON SCHEMA sales, "Weird Schema" TO reader_${db}; GRANT SELECT ON ALL TABLES IN SCHEMA public, sales, "Weird Schema" TO reader_${db}; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO reader_${db};`,
    );
    const bucket = await createBucket(s3Endpoint());
    const run = await runAction(
      'backup',
      { 'database-url': pgUrl(db, `reader_${db}`, password), ...s3Inputs(bucket), 'encryption-passphrase': PASSPHRASE },
      { watchArgv: true },
    );
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/row-level security policy for table "?zz_secret/);
    expect((await listKeys(bucket)).filter((k) => k.endsWith('.manifest.json'))).toEqual([]);
    expect(await listKeys(bucket)).toEqual([]);
    const uploads = await testS3Client(s3Endpoint()).send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
    // The sampler saw the run itself (so an empty list cannot pass for a clean one).
    expect(run.argvSeen?.some((c) => c.includes('backup/index.js'))).toBe(true);
    // The summary says how far it got and that nothing was stored.
    const summary = shown(run.summary);
    expect(summary).toMatch(/^## ❌ Backup of partial_\S+ failed$/m);
    expect(summary).toMatch(/row-level security policy for table "zz_secret"/);
    expect(summary).toMatch(/\| Stage reached \| dumping and uploading \|/);
    expect(summary).toMatch(/\| Stored \| nothing: no manifest was written/);
    expect(summary).toMatch(/\| Newest good backup \| none found \|/);
    const everything = [run.visible, run.stderr, run.summary, ...(run.argvSeen ?? [])].join('\n');
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(encodeURIComponent(password));
    expect(everything).not.toContain(PASSPHRASE);
  });

  it('fails with a clear message when the database is unreachable, naming the newest good backup', async () => {
    const bucket = await createBucket(s3Endpoint());
    const good = await runAction('backup', {
      'database-url': pgUrl(source),
      ...s3Inputs(bucket),
      name: 'nightly',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(good.status).toBe(0);
    const before = await listKeys(bucket);
    const run = await runAction('backup', {
      'database-url': `postgres://nobody:pw@127.0.0.1:1/nothing`,
      ...s3Inputs(bucket),
      name: 'nightly',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/cannot connect to nobody@127\.0\.0\.1:1\/nothing/);
    expect(await listKeys(bucket)).toEqual(before);
    const summary = shown(run.summary);
    expect(summary).toMatch(/^## ❌ Backup of nightly failed$/m);
    expect(summary).toMatch(/\| Stage reached \| connecting to the database \|/);
    expect(summary).toMatch(/\| Dumped \| nothing \(the dump had not started\) \|/);
    expect(summary).toContain(
      `| Newest good backup | ${good.outputs.key}, taken ${formatTime(good.outputs['created-at'] as string)} (`,
    );
  });

  it('fails with a clear message when the bucket does not exist', async () => {
    const run = await runAction('backup', {
      'database-url': pgUrl(source),
      ...s3Inputs('no-such-bucket-here'),
      'encryption-passphrase': PASSPHRASE,
    });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/cannot reach s3:\/\/no-such-bucket-here: the bucket does not exist/);
  });

  it('fails before uploading when pg_dump is older than the server, naming the client to install', async () => {
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), 'oldpg-'));
    fs.writeFileSync(path.join(fake, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 12.22"\n', { mode: 0o755 });
    const bucket = await createBucket(s3Endpoint());
    const run = await runAction('backup', {
      'database-url': pgUrl(source),
      ...s3Inputs(bucket),
      'encryption-passphrase': PASSPHRASE,
      'pg-bin-dir': fake,
    });
    expect(run.status).not.toBe(0);
    const major = psql('postgres', 'SHOW server_version_num').slice(0, 2);
    expect(run.errors.join('\n')).toContain(`pg_dump 12.22`);
    expect(run.errors.join('\n')).toContain(`postgresql-client-${major}`);
    expect(await listKeys(bucket)).toEqual([]);
  });

  afterAll(() => {
    // databases are dropped with the cluster
  });
});
