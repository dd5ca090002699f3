/**
 * The bundled restore action over a live target: the data becomes the backup's, the old database is
 * kept under its dated name; a wrong `confirm`, connected sessions or a damaged backup change nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runAction } from '../harness/action.js';
import { createDatabase, databasesLike, pg as pgServer, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { AWKWARD_SCHEMA_SQL, contentsOf } from '../harness/fixtures.js';
import { createBucket, testS3Client } from '../harness/s3.js';

const PASSPHRASE = `restore pa'ss ${Date.now()}`;

function s3Inputs(bucket: string): Record<string, string> {
  return { destination: `s3://${bucket}/backups`, 's3-endpoint': s3Endpoint(), 's3-force-path-style': 'true' };
}

async function listKeys(bucket: string): Promise<string[]> {
  const r = await testS3Client(s3Endpoint()).send(new ListObjectsV2Command({ Bucket: bucket }));
  return (r.Contents ?? []).map((o) => o.Key as string).sort();
}

/** A target database with data, backed up once (set `name`), then changed after the backup. */
async function liveTarget(
  name: string,
  destination: Record<string, string>,
): Promise<{ target: string; key: string; atBackup: Record<string, string>; afterChanges: Record<string, string> }> {
  const target = createDatabase(`rt_${name}`);
  psql(target, AWKWARD_SCHEMA_SQL);
  const run = await runAction('backup', {
    'database-url': pgUrl(target),
    ...destination,
    name,
    'encryption-passphrase': PASSPHRASE,
  });
  expect(run.errors).toEqual([]);
  const atBackup = contentsOf(target);
  psql(
    target,
    `INSERT INTO sales.orders VALUES (999999, 1, 1.00, now(), 'written after the backup');
     UPDATE public.people SET nickname = 'changed' WHERE nickname = '';
     CREATE TABLE public.added_later (x int); INSERT INTO public.added_later VALUES (1);`,
  );
  const afterChanges = contentsOf(target);
  expect(afterChanges).not.toEqual(atBackup);
  return { target, key: run.outputs.key as string, atBackup, afterChanges };
}

function freshDatabasesFor(target: string): string[] {
  return databasesLike(`pgdr_restore_${target}`);
}

describe('restore action (bundled, as the runner runs it)', () => {
  it('replaces a live target with the backup and keeps the old database under its dated name', async () => {
    const bucket = await createBucket(s3Endpoint());
    const { target, key, atBackup, afterChanges } = await liveTarget('rlive', s3Inputs(bucket));
    const run = await runAction('restore', {
      'database-url': pgUrl(target),
      confirm: target,
      ...s3Inputs(bucket),
      name: 'rlive',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(run.errors).toEqual([]);
    expect(run.status).toBe(0);
    expect(contentsOf(target)).toEqual(atBackup);

    const previous = run.outputs['previous-database'] as string;
    expect(previous).toMatch(new RegExp(`^${target}_pre_restore_\\d{8}_\\d{6}$`));
    expect(contentsOf(previous)).toEqual(afterChanges);

    expect(run.outputs['restored-key']).toBe(key);
    const preKey = run.outputs['pre-restore-backup-key'] as string;
    expect(preKey).toMatch(/^backups\/rlive-pre-restore\/.*\.sql\.gz\.gpg$/);
    expect(await listKeys(bucket)).toContain(preKey.replace(/\.sql\.gz\.gpg$/, '.manifest.json'));
    // Authenticated like any backup (by the passphrase), so a later restore may use it.
    expect(await listKeys(bucket)).toContain(preKey.replace(/\.sql\.gz\.gpg$/, '.manifest.json.sig'));
    expect(Number(run.outputs['data-loss-window-seconds'])).toBeGreaterThanOrEqual(0);
    // The summary as GitHub shows it (the report's backslash escapes resolved).
    const summary = run.summary.replace(/\\(.)/g, '$1');
    expect(summary).toContain(`${target} restored from rlive`);
    expect(summary).toContain(previous);
    expect(summary).toContain('Data-loss window');
    expect(summary).toContain('Temporary disk | none: streamed into the restore');
    expect(freshDatabasesFor(target)).toEqual([]);
    expect(run.visible + run.stderr + run.summary).not.toContain(PASSPHRASE);

    // The pre-restore set beside it does not make `latest` without a name ambiguous.
    const verify = await runAction('verify', {
      ...s3Inputs(bucket),
      'database-url': pgUrl('postgres'),
      'encryption-passphrase': PASSPHRASE,
    });
    expect(verify.outputs.result).toBe('passed');
    expect(verify.outputs['backup-key']).toBe(key);
  });

  it('changes nothing when confirm is not the target database name', async () => {
    const bucket = await createBucket(s3Endpoint());
    const { target, afterChanges } = await liveTarget('rconfirm', s3Inputs(bucket));
    const before = await listKeys(bucket);
    for (const confirm of ['', 'yes', target.toUpperCase()]) {
      const run = await runAction('restore', {
        'database-url': pgUrl(target),
        confirm,
        ...s3Inputs(bucket),
        'encryption-passphrase': PASSPHRASE,
      });
      expect(run.status).not.toBe(0);
      expect(run.errors.join('\n')).toMatch(
        /'confirm' must be exactly the name of the database to replace \(the database in 'database-url'\).*nothing was changed/,
      );
      expect(run.errors.join('\n')).not.toContain(target);
    }
    expect(contentsOf(target)).toEqual(afterChanges);
    expect(await listKeys(bucket)).toEqual(before);
    expect(databasesLike(`${target}_pre_restore`)).toEqual([]);
    expect(freshDatabasesFor(target)).toEqual([]);
  });

  it('refuses while other sessions are connected to the target, saying which', async () => {
    const bucket = await createBucket(s3Endpoint());
    const { target, afterChanges } = await liveTarget('rbusy', s3Inputs(bucket));
    const before = await listKeys(bucket);
    const { host, port } = pgServer();
    const app = new pg.Client({ host, port, user: 'postgres', database: target, application_name: 'billing-worker' });
    await app.connect();
    try {
      const run = await runAction('restore', {
        'database-url': pgUrl(target),
        confirm: target,
        ...s3Inputs(bucket),
        'encryption-passphrase': PASSPHRASE,
      });
      expect(run.status).not.toBe(0);
      expect(run.errors.join('\n')).toMatch(
        /1 other session is connected to .* \(billing-worker: 1\): stop the application and any other writers/,
      );
    } finally {
      await app.end();
    }
    expect(contentsOf(target)).toEqual(afterChanges);
    expect(await listKeys(bucket)).toEqual(before);
    expect(freshDatabasesFor(target)).toEqual([]);
  });

  it('leaves the target untouched when the backup turns out to be damaged or does not authenticate', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-rdamaged-'));
    const { target, key, afterChanges } = await liveTarget('rdamaged', { destination: dir });
    // Without its authenticator the manifest vouches for nothing: not restored, even named by key.
    const sig = path.join(dir, key.replace(/\.sql\.gz\.gpg$/, '.manifest.json.sig'));
    const sigText = fs.readFileSync(sig);
    fs.rmSync(sig);
    const unauthenticated = await runAction('restore', {
      'database-url': pgUrl(target),
      confirm: target,
      destination: dir,
      backup: key,
      'encryption-passphrase': PASSPHRASE,
      'pre-restore-backup': 'false',
    });
    expect(unauthenticated.status).not.toBe(0);
    expect(unauthenticated.errors.join('\n')).toMatch(/not authenticated: .* it has no authenticator \(\.sig\)/);
    expect(contentsOf(target)).toEqual(afterChanges);
    fs.writeFileSync(sig, sigText);

    const f = path.join(dir, key);
    const buf = fs.readFileSync(f);
    buf[Math.floor(buf.length / 2)] = (buf[Math.floor(buf.length / 2)] as number) ^ 0x01;
    fs.writeFileSync(f, buf);
    const run = await runAction('restore', {
      'database-url': pgUrl(target),
      confirm: target,
      destination: dir,
      'encryption-passphrase': PASSPHRASE,
      'pre-restore-backup': 'false',
    });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/checksum mismatch: .* is corrupted/);
    expect(contentsOf(target)).toEqual(afterChanges);
    expect(databasesLike(`${target}_pre_restore`)).toEqual([]);
    expect(freshDatabasesFor(target)).toEqual([]);
  });
});
