/**
 * runPrune against the real S3 API server (and a directory): more than 1000 backups so the listing and
 * the deletes span pages and batches, a listing that fails part-way, interrupted runs, broken manifests,
 * other sets and foreign objects, and Object Lock refusals (which s3rver cannot produce: a wrapper fakes
 * the per-key errors real S3 and MinIO return).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { isObjectLockError, type PruneConfig, runPrune } from '../../src/core/prune.js';
import { DEFAULT_POLICY } from '../../src/core/retention.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { S3Storage } from '../../src/core/storage/s3.js';
import { DeleteError, type Storage } from '../../src/core/storage/types.js';
import { silentLogger } from '../../src/util/log.js';
import { s3Endpoint } from '../harness/context.js';
import { createBucket, testS3Client } from '../harness/s3.js';
import {
  allKeys,
  objectsOf,
  putObjects,
  type SyntheticBackup,
  syntheticBackup,
  writeFiles,
} from '../harness/synthetic-backups.js';

const PREFIX = 'backups';
const HOUR = 3_600_000;

// The default retries stay on: s3rver answers a DeleteObjects that empties a directory with a 500 now and
// then (its empty-directory cleanup races with itself); the SDK retries it, as it would on AWS.
function s3Storage(bucket: string): S3Storage {
  return new S3Storage({ bucket, endpoint: s3Endpoint(), forcePathStyle: true, region: 'us-east-1' });
}

/** Records the keys of each DeleteObjects request, and can fail the n-th ListObjectsV2 page. */
function instrument(storage: S3Storage, o: { failListPage?: number } = {}): { deletes: string[][]; listPages: number } {
  const seen = { deletes: [] as string[][], listPages: 0 };
  storage.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Delete?: { Objects?: Array<{ Key?: string }> } };
      if (context.commandName === 'ListObjectsV2Command') {
        seen.listPages++;
        if (seen.listPages === o.failListPage) throw new Error(`injected failure of listing page ${seen.listPages}`);
      }
      if (context.commandName === 'DeleteObjectsCommand') {
        seen.deletes.push((input.Delete?.Objects ?? []).map((x) => x.Key as string));
      }
      return next(args);
    },
    { step: 'initialize', name: 'pruneTestRecorder' },
  );
  return seen;
}

const config = (p: Partial<PruneConfig> = {}): PruneConfig => ({
  prefix: PREFIX,
  name: 'db1',
  policy: DEFAULT_POLICY,
  dryRun: false,
  minAgeIncompleteSeconds: 24 * 3600,
  ...p,
});

describe('prune over 1101 backups in S3 (every 8 hours for 367 days)', () => {
  const client: S3Client = testS3Client(s3Endpoint());
  let bucket: string;
  let set: SyntheticBackup[];
  let untouched: string[];
  let before: string[];
  const NOW = new Date('2026-01-03T00:00:00Z');

  // By hand, with the default policy (last 1, daily 7, weekly 4, monthly 12) at 2026-01-03T00:00Z:
  // daily: 16:00 of Jan 2, Jan 1, Dec 31 … Dec 27; weekly (ISO): Jan 2 (2026-W01), Dec 28 (W52),
  // Dec 21 (W51), Dec 14 (W50); monthly: Jan 2, Dec 31, then the last day of Nov … Feb 2025.
  const expectedKept = [
    '2026-01-02',
    '2026-01-01',
    '2025-12-31',
    '2025-12-30',
    '2025-12-29',
    '2025-12-28',
    '2025-12-27',
    '2025-12-21',
    '2025-12-14',
    '2025-11-30',
    '2025-10-31',
    '2025-09-30',
    '2025-08-31',
    '2025-07-31',
    '2025-06-30',
    '2025-05-31',
    '2025-04-30',
    '2025-03-31',
    '2025-02-28',
  ].map((d) => new Date(`${d}T16:00:00Z`).toISOString());

  beforeAll(async () => {
    bucket = await createBucket(s3Endpoint(), 'prune');
    const start = Date.parse('2025-01-01T00:00:00Z');
    set = Array.from({ length: 1101 }, (_, i) => syntheticBackup(PREFIX, 'db1', new Date(start + i * 8 * HOUR)));
    const otherSet = [1, 2, 3].map((d) => syntheticBackup(PREFIX, 'db10', new Date(Date.UTC(2024, 0, d))));
    const broken = syntheticBackup(PREFIX, 'db1', new Date('2025-02-02T03:00:00Z'));
    const sizeMismatch = syntheticBackup(PREFIX, 'db1', new Date('2025-02-03T03:00:00Z'));
    const foreign: Array<[string, string]> = [
      [`${PREFIX}/db1/README.txt`, 'not a backup'],
      [`${PREFIX}/db1/2025/01/01/.db1-20250101T000000Z.sql.gz.gpg.1.partial`, 'partial'],
      [`${PREFIX}/db1/.lock`, 'lock'],
      [`other/db1/2025/01/01/db1-20250101T000000Z.sql.gz.gpg`, 'another prefix'],
      [`${PREFIX}2/db1/2025/01/01/db1-20250101T000000Z.manifest.json`, '{}'],
    ];
    await putObjects(client, bucket, [
      ...objectsOf(set),
      ...objectsOf(otherSet),
      [broken.dataKey, broken.body],
      [broken.manifestKey, '{"formatVersion": 1, "truncated'],
      [sizeMismatch.dataKey, Buffer.concat([sizeMismatch.body, Buffer.from('x')])],
      [sizeMismatch.manifestKey, sizeMismatch.manifest],
      ...foreign,
    ]);
    untouched = [
      ...objectsOf(otherSet).map(([k]) => k),
      broken.dataKey,
      broken.manifestKey,
      sizeMismatch.dataKey,
      sizeMismatch.manifestKey,
      ...foreign.map(([k]) => k),
    ];
    before = await allKeys(client, bucket);
    expect(before.length).toBe(2 * 1101 + untouched.length);
  });

  it('deletes nothing when the second page of the listing fails', async () => {
    const storage = s3Storage(bucket);
    const seen = instrument(storage, { failListPage: 2 });
    await expect(runPrune(config(), { storage, log: silentLogger, now: () => NOW })).rejects.toThrow(
      /injected failure of listing page 2/,
    );
    expect(seen.listPages).toBe(2);
    expect(seen.deletes).toEqual([]);
    expect(await allKeys(client, bucket)).toEqual(before);
  });

  it('a dry run reports the plan and deletes nothing', async () => {
    const storage = s3Storage(bucket);
    const seen = instrument(storage);
    const r = await runPrune(config({ dryRun: true }), { storage, log: silentLogger, now: () => NOW });
    expect(seen.listPages).toBe(3); // 2209 keys under backups/db1/: pages of 1000
    expect(seen.deletes).toEqual([]);
    expect(r.decisions).toHaveLength(1101);
    expect(r.decisions.filter((d) => d.keep).map((d) => d.backup.createdAt.toISOString())).toEqual(expectedKept);
    expect(r.deletedBackups).toHaveLength(1101 - expectedKept.length);
    expect(r.deletedKeys).toHaveLength(2 * (1101 - expectedKept.length));
    expect(r.broken.map((b) => b.manifestKey).sort()).toEqual(
      untouched.filter((k) => /2025\/02\/0[23].*manifest/.test(k)),
    );
    expect(r.warnings.join('\n')).toMatch(/not a valid manifest/);
    expect(await allKeys(client, bucket)).toEqual(before);
  });

  it('deletes exactly the backups no rule keeps: manifests first, in batches of 1000, then data', async () => {
    const storage = s3Storage(bucket);
    const seen = instrument(storage);
    const r = await runPrune(config(), { storage, log: silentLogger, now: () => NOW });
    const doomed = 1101 - expectedKept.length; // 1082
    expect(r.deletedBackups).toHaveLength(doomed);
    expect(seen.deletes.map((batch) => batch.length)).toEqual([1000, doomed - 1000, 1000, doomed - 1000]);
    expect(
      seen.deletes
        .slice(0, 2)
        .flat()
        .every((k) => k.endsWith('.manifest.json')),
    ).toBe(true);
    expect(
      seen.deletes
        .slice(2)
        .flat()
        .every((k) => k.endsWith('.sql.gz.gpg')),
    ).toBe(true);
    expect(r.deletedKeys).toEqual(seen.deletes.flat());

    const keptBackups = set.filter((b) => expectedKept.includes(b.createdAt.toISOString()));
    expect(await allKeys(client, bucket)).toEqual(
      [...keptBackups.flatMap((b) => [b.dataKey, b.manifestKey]), ...untouched].sort(),
    );
  });

  it('deletes nothing when run again', async () => {
    const storage = s3Storage(bucket);
    const seen = instrument(storage);
    const r = await runPrune(config(), { storage, log: silentLogger, now: () => NOW });
    expect(seen.deletes).toEqual([]);
    expect(r.deletedKeys).toEqual([]);
    expect(r.decisions.every((d) => d.keep)).toBe(true);
  });
});

describe('prune of interrupted runs', () => {
  const client: S3Client = testS3Client(s3Endpoint());

  async function fixture(): Promise<{
    bucket: string;
    old: SyntheticBackup;
    other: SyntheticBackup;
    real: SyntheticBackup;
  }> {
    const bucket = await createBucket(s3Endpoint(), 'prune-inc');
    const real = syntheticBackup(PREFIX, 'db1', new Date(Date.now() - 3 * HOUR));
    // Key says three days ago, but the object was written just now (a clock that is off, or a slow upload).
    const old = syntheticBackup(PREFIX, 'db1', new Date(Date.now() - 72 * HOUR));
    const other = syntheticBackup(PREFIX, 'db10', new Date(Date.now() - 72 * HOUR));
    await putObjects(client, bucket, [...objectsOf([real]), [old.dataKey, old.body], [other.dataKey, other.body]]);
    return { bucket, old, other, real };
  }

  it('keeps a data object without manifest until both its key time and lastModified are older than min-age', async () => {
    const { bucket, old, real } = await fixture();
    const before = await allKeys(client, bucket);
    const storage = s3Storage(bucket);
    const young = await runPrune(config(), { storage, log: silentLogger });
    expect(young.incomplete.map((i) => [i.item.data.key, i.action])).toEqual([[old.dataKey, 'keep']]);
    expect(young.incomplete[0]?.ageSeconds).toBeLessThan(3600);
    expect(await allKeys(client, bucket)).toEqual(before);

    const later = new Date(Date.now() + 25 * HOUR);
    const r = await runPrune(config(), { storage, log: silentLogger, now: () => later });
    expect(r.incompleteDeleted.map((i) => i.data.key)).toEqual([old.dataKey]);
    expect(r.deletedKeys).toEqual([old.dataKey]);
    // The real backup stays (newest), and so does db10's object.
    expect(await allKeys(client, bucket)).toEqual(before.filter((k) => k !== old.dataKey));
    expect(await allKeys(client, bucket)).toContain(real.manifestKey);
  });

  it('a dry run lists the interrupted run it would delete, and deletes nothing', async () => {
    const { bucket, old } = await fixture();
    const before = await allKeys(client, bucket);
    const r = await runPrune(config({ dryRun: true, minAgeIncompleteSeconds: 0 }), {
      storage: s3Storage(bucket),
      log: silentLogger,
    });
    expect(r.incompleteDeleted.map((i) => i.data.key)).toEqual([old.dataKey]);
    expect(await allKeys(client, bucket)).toEqual(before);
  });
});

describe('prune and Object Lock', () => {
  it.each([
    ['AccessDenied', 'Access Denied because object protected by object lock.', true],
    ['InvalidRequest', 'Object is WORM protected and cannot be overwritten', true],
    ['ObjectLocked', '', true],
    ['AccessDenied', 'Access Denied', false],
    ['InternalError', 'We encountered an internal error. Please try again.', false],
    ['InvalidRequest', 'Missing required header', false],
  ])('%s "%s" is a lock: %s', (code, message, locked) => {
    expect(isObjectLockError(code, message)).toBe(locked);
  });

  /** A storage whose delete refuses some keys per key, as S3 does for objects under retention. */
  function refusing(inner: Storage, refuse: Map<string, { code: string; message: string }>): Storage {
    return Object.assign(Object.create(inner) as Storage, {
      async delete(keys: string[]) {
        const ok = keys.filter((k) => !refuse.has(k));
        const { deleted } = await inner.delete(ok);
        const failed = keys.filter((k) => refuse.has(k)).map((key) => ({ key, ...refuse.get(key)! }));
        if (failed.length) throw new DeleteError(`could not delete ${failed.length} object(s)`, deleted, failed);
        return { deleted };
      },
    });
  }

  async function lockedFixture(): Promise<{ root: string; storage: LocalStorage; b: SyntheticBackup[] }> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'prune-lock-'));
    const b = [5, 4, 3, 2].map((d) => syntheticBackup(PREFIX, 'db1', new Date(Date.UTC(2026, 0, d, 3))));
    writeFiles(root, objectsOf(b));
    return { root, storage: new LocalStorage(root), b };
  }

  const lastOnly = config({ policy: { last: 1, daily: 0, weekly: 0, monthly: 0, yearly: 0 } });
  const now = () => new Date('2026-01-06T00:00:00Z');

  it('skips objects under retention with a warning and never deletes the data of a locked manifest', async () => {
    const { storage, b } = await lockedFixture();
    const [newest, second, third, oldest] = b as [SyntheticBackup, SyntheticBackup, SyntheticBackup, SyntheticBackup];
    const lock = { code: 'AccessDenied', message: 'Access Denied because object protected by object lock.' };
    const r = await runPrune(lastOnly, {
      storage: refusing(
        storage,
        new Map([
          [second.manifestKey, lock],
          [third.dataKey, lock],
        ]),
      ),
      log: silentLogger,
      now,
    });
    expect(r.locked.map((l) => l.key).sort()).toEqual([second.manifestKey, third.dataKey].sort());
    expect(r.warnings.filter((w) => w.includes('Object Lock'))).toHaveLength(2);
    // second: manifest locked → still a backup, data untouched; third: manifest went, data locked → incomplete.
    expect(r.deletedBackups.map((x) => x.manifestKey)).toEqual([third.manifestKey, oldest.manifestKey]);
    const left = (await storage.list(`${PREFIX}/`)).map((o) => o.key).sort();
    expect(left).toEqual(
      [newest.dataKey, newest.manifestKey, second.dataKey, second.manifestKey, third.dataKey].sort(),
    );
  });

  it('fails the run on any other per-key error (a missing permission is not a lock)', async () => {
    const { storage, b } = await lockedFixture();
    const oldest = b[3] as SyntheticBackup;
    await expect(
      runPrune(lastOnly, {
        storage: refusing(storage, new Map([[oldest.manifestKey, { code: 'AccessDenied', message: 'Access Denied' }]])),
        log: silentLogger,
        now,
      }),
    ).rejects.toThrow(/deleting manifests failed.*AccessDenied/);
    // The other manifests went, but no data object did: those become incomplete objects for a later run.
    const left = (await storage.list(`${PREFIX}/`)).map((o) => o.key);
    for (const x of b) expect(left).toContain(x.dataKey);
    expect(left).toContain(oldest.manifestKey);
  });
});

describe('prune of a directory destination', () => {
  it('applies the same policy to LocalStorage', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'prune-local-'));
    const b = Array.from({ length: 30 }, (_, i) => syntheticBackup('', 'db1', new Date(Date.UTC(2026, 0, 1 + i, 3))));
    writeFiles(root, objectsOf(b));
    const storage = new LocalStorage(root);
    const r = await runPrune(config({ prefix: '', policy: { last: 0, daily: 3, weekly: 2, monthly: 0, yearly: 0 } }), {
      storage,
      log: silentLogger,
      now: () => new Date('2026-02-01T00:00:00Z'),
    });
    // Jan 30 (Fri, W05), 29, 28 daily; weekly: W05's newest (Jan 30) and W04's (Sun Jan 25).
    const kept = ['2026-01-30', '2026-01-29', '2026-01-28', '2026-01-25'];
    expect(r.decisions.filter((d) => d.keep).map((d) => d.backup.manifest.createdAt.slice(0, 10))).toEqual(kept);
    const left = (await storage.list('')).map((o) => o.key).sort();
    expect(left).toEqual(
      b
        .filter((x) => kept.includes(x.createdAt.toISOString().slice(0, 10)))
        .flatMap((x) => [x.dataKey, x.manifestKey])
        .sort(),
    );
  });
});
