/**
 * The bundled prune action, run as the runner runs it, over a set made of real backups (the bundled backup
 * action against the run's PostgreSQL) and synthetic older ones, next to another set, an interrupted run
 * and a stray object.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ActionRun, runAction, runCli } from '../harness/action.js';
import { createDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { createBucket, testS3Client } from '../harness/s3.js';
import {
  allKeys,
  objectsOf,
  putObjects,
  type SyntheticBackup,
  syntheticBackup,
  syntheticBackups,
  TEST_AUTH_PASSPHRASE,
} from '../harness/synthetic-backups.js';

const PASSPHRASE = `prune e2e ${Date.now()}`;
const DAY = 86_400_000;
const SET = 'shop';

function s3Inputs(bucket: string): Record<string, string> {
  return { destination: `s3://${bucket}/backups`, 's3-endpoint': s3Endpoint(), 's3-force-path-style': 'true' };
}

/** The real backups' passphrase and the synthetic ones', one per line (as during a key rotation). */
const AUTH = { 'encryption-passphrase': `${PASSPHRASE}\n${TEST_AUTH_PASSPHRASE}` };

describe('prune action (bundled, as the runner runs it)', () => {
  const client: S3Client = testS3Client(s3Endpoint());
  let bucket: string;
  let real: Array<{ key: string; manifestKey: string; createdAt: string }>;
  let synthetic: SyntheticBackup[];
  let interrupted: SyntheticBackup;
  let unsigned: SyntheticBackup;
  let untouched: string[];

  let uploadedAt = 0;
  beforeAll(async () => {
    const db = createDatabase('prune');
    psql(
      db,
      'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;',
    );
    bucket = await createBucket(s3Endpoint(), 'prune-e2e');
    real = [];
    for (let i = 0; i < 2; i++) {
      const run = await runAction('backup', {
        'database-url': pgUrl(db),
        ...s3Inputs(bucket),
        name: SET,
        'encryption-passphrase': PASSPHRASE,
      });
      expect(run.errors).toEqual([]);
      expect(run.status).toBe(0);
      real.push({
        key: run.outputs.key as string,
        manifestKey: run.outputs['manifest-key'] as string,
        createdAt: run.outputs['created-at'] as string,
      });
      if (i === 0) await new Promise((r) => setTimeout(r, 1100)); // keys have second precision
    }
    // One backup a day at 03:00 UTC for the 40 days before the real ones.
    const today = Date.parse(`${(real[1] as { createdAt: string }).createdAt.slice(0, 10)}T03:00:00Z`);
    synthetic = await syntheticBackups(
      'backups',
      SET,
      Array.from({ length: 40 }, (_, i) => new Date(today - (i + 1) * DAY)),
    );
    interrupted = await syntheticBackup('backups', SET, new Date(today - 3 * DAY + 3_600_000));
    const otherSet = await syntheticBackups(
      'backups',
      `${SET}2`,
      [1, 2, 3].map((i) => new Date(today - i * 50 * DAY)),
    );
    const stray: Array<[string, string]> = [[`backups/${SET}/notes.txt`, 'keep me']];
    // An old backup whose authenticator is missing (planted, or from before manifests were authenticated).
    unsigned = await syntheticBackup('backups', SET, new Date(today - 100 * DAY));
    const unsignedObjects: Array<[string, string | Buffer]> = [
      [unsigned.dataKey, unsigned.body],
      [unsigned.manifestKey, unsigned.manifest],
    ];
    await putObjects(client, bucket, [
      ...objectsOf(synthetic),
      [interrupted.dataKey, interrupted.body],
      ...objectsOf(otherSet),
      ...unsignedObjects,
      ...stray,
    ]);
    untouched = [...objectsOf(otherSet), ...unsignedObjects, ...stray].map(([k]) => k);
    uploadedAt = Date.now();
  });

  const policy = { 'keep-last': '2', 'keep-daily': '3', 'keep-weekly': '0', 'keep-monthly': '0' };

  it('a dry run reports every backup and what would go, and deletes nothing', async () => {
    const before = await allKeys(client, bucket);
    const run = await runAction('prune', { ...s3Inputs(bucket), name: SET, ...policy, ...AUTH, 'dry-run': 'true' });
    expect(run.errors).toEqual([]);
    expect(run.status).toBe(0);
    // Kept: both real backups (last 2, daily 1/3), yesterday's and the day before's (daily 2/3, 3/3).
    expect(run.outputs).toMatchObject({ kept: '4', deleted: '38', 'incomplete-deleted': '0', 'dry-run': 'true' });
    // Manifest, data object and authenticator (.sig) of each.
    expect(JSON.parse(run.outputs['deleted-keys'] as string)).toHaveLength(3 * 38);
    // The manifest without authenticator fills no retention slot and is left alone, loudly.
    expect(run.warnings.join('\n')).toMatch(/left alone: 1 manifest\(s\) that do not authenticate/);
    expect(run.warnings.join('\n')).toContain(unsigned.manifestKey);
    expect(run.summary).toContain('Prune dry run of shop');
    expect(run.summary).toContain('nothing was deleted');
    expect(run.summary).toMatch(/\| ✅ keep \| [^|]+ UTC \| [^|]+ \| last 1\/2, daily 1\/3 \|/);
    expect(run.summary.match(/\| 🗑️ would delete \|/g)).toHaveLength(38);
    // The interrupted run was written just now: too young to collect, whatever its key says.
    expect(run.summary).toContain(interrupted.dataKey);
    expect(run.summary).toMatch(/keep \(younger than min-age-incomplete 1d\)/);
    expect(await allKeys(client, bucket)).toEqual(before);
  });

  it('refuses a policy of all zeros, naming the keep-* inputs, before touching anything', async () => {
    const before = await allKeys(client, bucket);
    const run = await runAction('prune', {
      ...s3Inputs(bucket),
      name: SET,
      'keep-last': '0',
      'keep-daily': '0',
      'keep-weekly': '0',
      'keep-monthly': '0',
      'keep-yearly': '0',
      ...AUTH,
    });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/'keep-last', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly'/);
    expect(await allKeys(client, bucket)).toEqual(before);
  });

  it('refuses to run without a key that authenticates the backups, naming both inputs, deleting nothing', async () => {
    const before = await allKeys(client, bucket);
    const run = await runAction('prune', { ...s3Inputs(bucket), name: SET, ...policy });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/'encryption-passphrase'.*'signing-public-key'.*nothing was deleted/);
    expect(await allKeys(client, bucket)).toEqual(before);
  });

  it('refuses to run without a name', async () => {
    const run = await runAction('prune', { ...s3Inputs(bucket) });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/'name' is required/);
  });

  it('pgdr prune --dry-run --json gives the same plan', async () => {
    const r = await runCli(
      [
        'prune',
        '--destination',
        `s3://${bucket}/backups`,
        '--s3-endpoint',
        s3Endpoint(),
        '--name',
        SET,
        ...Object.entries(policy).flatMap(([k, v]) => [`--${k}`, v]),
        '--dry-run',
        '--json',
      ],
      { PGDR_ENCRYPTION_PASSPHRASE: AUTH['encryption-passphrase'] },
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kept: 4, deleted: 38, 'dry-run': true });
  });

  let run: ActionRun;
  it('deletes the backups no rule keeps and the interrupted run, manifests first', async () => {
    // The interrupted run's age counts from its upload (LastModified, second precision): let it pass 1s.
    await new Promise((r) => setTimeout(r, Math.max(0, uploadedAt + 2100 - Date.now())));
    run = await runAction('prune', {
      ...s3Inputs(bucket),
      name: SET,
      ...policy,
      ...AUTH,
      'min-age-incomplete': '1s',
    });
    expect(run.errors).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.outputs).toMatchObject({ kept: '4', deleted: '38', 'incomplete-deleted': '1', 'dry-run': 'false' });
    const deleted = JSON.parse(run.outputs['deleted-keys'] as string) as string[];
    expect(deleted).toHaveLength(3 * 38 + 1);
    // Manifests, then data objects, then authenticators (nothing acts on a .sig without its manifest).
    const isManifest = (k: string): boolean => k.endsWith('.manifest.json');
    const isSig = (k: string): boolean => k.endsWith('.manifest.json.sig');
    const lastManifest = deleted.findLastIndex(isManifest);
    const firstData = deleted.findIndex((k) => !isManifest(k) && !isSig(k));
    const lastData = deleted.findLastIndex((k) => !isManifest(k) && !isSig(k));
    const firstSig = deleted.findIndex(isSig);
    expect(lastManifest).toBeLessThan(firstData);
    expect(lastData).toBeLessThan(firstSig);
    expect(deleted.filter(isSig)).toHaveLength(38);
    expect(run.summary.match(/\| 🗑️ deleted \|/g)).toHaveLength(38 + 1); // and the interrupted run's row

    const kept = [
      ...real.flatMap((b) => [b.key, b.manifestKey, `${b.manifestKey}.sig`]),
      ...synthetic.slice(0, 2).flatMap((b) => [b.dataKey, b.manifestKey, b.authenticatorKey]),
    ];
    expect(await allKeys(client, bucket)).toEqual([...kept, ...untouched].sort());
  });

  it('deletes nothing when run again', async () => {
    const again = await runAction('prune', {
      ...s3Inputs(bucket),
      name: SET,
      ...policy,
      ...AUTH,
      'min-age-incomplete': '1s',
    });
    expect(again.status).toBe(0);
    expect(again.outputs).toMatchObject({ kept: '4', deleted: '0', 'deleted-keys': '[]', 'incomplete-deleted': '0' });
  });
});
