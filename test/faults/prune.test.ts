/**
 * The bundled prune action through the fault proxy, over a set of more than 1000 objects (data, .sig and
 * manifest per backup): a listing page that keeps failing means nothing is deleted; keys that DeleteObjects
 * refuses fail the run by name and their data objects stay; with the faults gone, every page is read and
 * the policy is applied in full.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction } from '../harness/action.js';
import { s3Endpoint } from '../harness/context.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { createBucket, testS3Client } from '../harness/s3.js';
import {
  allKeys,
  objectsOf,
  putObjects,
  type SyntheticBackup,
  syntheticBackups,
  TEST_AUTH_PASSPHRASE,
} from '../harness/synthetic-backups.js';

const SET = 'many';
const HOUR = 3_600_000;
let proxy: FaultProxy;
let bucket: string;
let backups: SyntheticBackup[];
let everything: string[];
const client = testS3Client(s3Endpoint());

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function prune(extra: Record<string, string> = {}): ReturnType<typeof runAction> {
  return runAction('prune', {
    destination: `s3://${bucket}/backups`,
    's3-endpoint': proxy.url,
    's3-force-path-style': 'true',
    name: SET,
    'keep-last': '3',
    'keep-daily': '0',
    'keep-weekly': '0',
    'keep-monthly': '0',
    'keep-yearly': '0',
    'encryption-passphrase': TEST_AUTH_PASSPHRASE,
    ...extra,
  });
}

beforeAll(async () => {
  proxy = await startFaultProxy(s3Endpoint());
  bucket = await createBucket(s3Endpoint(), 'faults-prune');
  // 520 backups an hour apart, newest first: 1560 objects (data, .sig, manifest), two listing pages.
  const now = Date.now();
  backups = await syntheticBackups(
    'backups',
    SET,
    Array.from({ length: 520 }, (_, i) => new Date(now - (i + 1) * HOUR)),
  );
  await putObjects(client, bucket, objectsOf(backups));
  everything = await allKeys(client, bucket);
  expect(everything).toHaveLength(1560);
});
afterAll(async () => {
  await proxy.stop();
});

describe('prune through a faulty S3 endpoint, over more than 1000 objects', () => {
  it('the second listing page failing every time: the run fails and deletes nothing', async () => {
    proxy.reset();
    proxy.add({
      match: { op: 'ListObjectsV2', query: { 'continuation-token': true } },
      when: 'always',
      action: { kind: 'error', status: 500 },
    });
    const run = await prune();
    expect(run.status).toBe(1);
    expect(run.errors.join('\n')).toMatch(/internal error/i);
    expect(proxy.of('ListObjectsV2').filter((r) => r.status === 500)).toHaveLength(5);
    expect(proxy.of('DeleteObjects')).toEqual([]);
    expect(proxy.of('DeleteObject')).toEqual([]);
    expect(await allKeys(client, bucket)).toEqual(everything);
  });

  it('manifests DeleteObjects refuses: the run fails naming them, and no data object is deleted', async () => {
    proxy.reset();
    const refused = [backups[100], backups[400]] as SyntheticBackup[];
    proxy.add({
      match: { op: 'DeleteObjects' },
      when: 'always',
      action: {
        kind: 'delete-errors',
        keys: new RegExp(`^(${refused.map((b) => escapeRegExp(b.manifestKey)).join('|')})$`),
        code: 'InternalError',
        message: 'We encountered an internal error. Please try again.',
      },
    });
    const run = await prune();
    expect(run.status).toBe(1);
    const errors = run.errors.join('\n');
    expect(errors).toMatch(/deleting manifests failed; nothing else was deleted/);
    for (const b of refused) expect(errors).toContain(b.manifestKey);
    const left = new Set(await allKeys(client, bucket));
    // Every data object and .sig is still there, the refused manifests too; the other doomed manifests went.
    for (const b of backups) expect(left.has(b.dataKey)).toBe(true);
    for (const b of backups) expect(left.has(b.authenticatorKey)).toBe(true);
    for (const b of refused) expect(left.has(b.manifestKey)).toBe(true);
    // Both listing pages were read: the oldest (first page) and the newest (second page) doomed manifests went,
    // the three newest were kept.
    expect(proxy.of('ListObjectsV2').map((r) => r.status)).toEqual([200, 200]);
    expect(left.has((backups[519] as SyntheticBackup).manifestKey)).toBe(false);
    expect(left.has((backups[3] as SyntheticBackup).manifestKey)).toBe(false);
    for (const b of backups.slice(0, 3)) expect(left.has(b.manifestKey)).toBe(true);
  });

  it('data objects DeleteObjects refuses: the run fails naming them', async () => {
    proxy.reset();
    const refused = backups[300] as SyntheticBackup;
    proxy.add({
      match: { op: 'DeleteObjects' },
      when: 'always',
      action: { kind: 'delete-errors', keys: new RegExp(`^${escapeRegExp(refused.dataKey)}$`) },
    });
    // The previous run's manifest-less data objects are garbage at once with min-age-incomplete: 0s.
    const run = await prune({ 'min-age-incomplete': '0s' });
    expect(run.status).toBe(1);
    expect(run.errors.join('\n')).toContain(`${refused.dataKey} (AccessDenied: Access Denied)`);
    expect(await allKeys(client, bucket)).toContain(refused.dataKey);
  });

  it('with the faults gone, the next run finishes the job: only what the policy keeps remains', async () => {
    proxy.reset();
    const run = await prune({ 'min-age-incomplete': '0s' });
    expect(run.errors).toEqual([]);
    expect(run.status).toBe(0);
    const kept = backups.slice(0, 3).flatMap((b) => [b.dataKey, b.authenticatorKey, b.manifestKey]);
    expect(await allKeys(client, bucket)).toEqual(kept.sort());
  });
});
