/**
 * docs/runbook.md, executed: every block marked `<!-- runbook:step -->` runs unchanged, in order, in one
 * bash session against backups made by the bundled backup action. The only stand-in is `aws`: a small
 * script (runbook-aws-shim.mjs) that serves `aws s3 ls --recursive` and `aws s3 cp` from the test S3
 * server; gpg, gunzip, jq, sha256sum, psql and pg_restore are the real tools.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runAction } from '../harness/action.js';
import { createDatabase, databasesLike, pg, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { AWKWARD_SCHEMA_SQL, contentsOf } from '../harness/fixtures.js';
import { createGnupgHome, removeGnupgHome } from '../harness/gnupg.js';
import { makeKeyPair } from '../harness/gpg-keys.js';
import { createBucket, testS3Client } from '../harness/s3.js';

const RUNBOOK = path.join(REPO_ROOT, 'docs', 'runbook.md');

function runbookSteps(): string[] {
  const text = fs.readFileSync(RUNBOOK, 'utf8');
  return [...text.matchAll(/<!-- runbook:step -->\s*```bash\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

function awsShimDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aws-shim-'));
  const shim = path.join(REPO_ROOT, 'test', 'e2e', 'runbook-aws-shim.mjs');
  fs.writeFileSync(path.join(dir, 'aws'), `#!/bin/sh\nexec "${process.execPath}" "${shim}" "$@"\n`, { mode: 0o755 });
  return dir;
}

/** Runs the runbook's steps; returns their stdout. */
function followRunbook(env: Record<string, string>): string {
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-'));
  const gnupghome = createGnupgHome('runbook-gpg-');
  const shim = awsShimDir();
  const script = ['set -euo pipefail', 'umask 077', ...runbookSteps()].join('\n');
  try {
    return execFileSync('bash', ['-c', script], {
      cwd: workdir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PATH: [shim, pg().binDir, process.env.PATH].join(path.delimiter),
        AWS_ENDPOINT_URL: s3Endpoint(),
        PGHOST: pg().host,
        PGPORT: String(pg().port),
        PGUSER: 'postgres',
        GNUPGHOME: gnupghome,
        ...env,
      },
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`the runbook failed: ${e.message}\n--- stdout\n${e.stdout}\n--- stderr\n${e.stderr}`);
  } finally {
    removeGnupgHome(gnupghome);
    fs.rmSync(workdir, { recursive: true, force: true });
    fs.rmSync(shim, { recursive: true, force: true });
  }
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
  it('has the steps the test runs', () => {
    expect(runbookSteps().length).toBe(7);
    expect(runbookSteps().join('\n')).toMatch(/aws s3 cp/);
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
