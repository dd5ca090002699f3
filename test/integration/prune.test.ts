/**
 * runPrune against the real S3 API server (and a directory): more than 1000 backups so the listing and
 * the deletes span pages and batches, a listing that fails part-way, interrupted runs, broken manifests,
 * other sets and foreign objects, and Object Lock refusals (which s3rver cannot produce: a wrapper fakes
 * the per-key errors real S3 and MinIO return). Every backup has an authenticator (.sig), so each is three
 * objects; manifests that do not authenticate (planted, edited, re-dated, signed by another key) are never
 * deleted and change no decision; without a key prune deletes nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPruneConfig } from '../../src/commands/prune.js';
import { authenticatorKeyFor, dataKeyFor, manifestKeyFor } from '../../src/core/layout.js';
import { parseManifest, serializeManifest } from '../../src/core/manifest.js';
import { passphraseSigner } from '../../src/core/manifest-auth.js';
import { isObjectLockError, type PruneConfig, type PruneResult, runPrune } from '../../src/core/prune.js';
import { DEFAULT_POLICY } from '../../src/core/retention.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { S3Storage } from '../../src/core/storage/s3.js';
import { DeleteError, type Storage } from '../../src/core/storage/types.js';
import { synthesizeBackup } from '../../src/core/synth.js';
import { UserError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/log.js';
import { s3Endpoint } from '../harness/context.js';
import { createBucket, testS3Client } from '../harness/s3.js';
import {
  allKeys,
  objectsOf,
  putObjects,
  type SyntheticBackup,
  syntheticBackup,
  syntheticBackups,
  TEST_AUTH_PASSPHRASE,
  testSigner,
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
  authKeys: { passphrases: [TEST_AUTH_PASSPHRASE] },
  ...p,
});

/** Data, authenticator and manifest keys of backups. */
const keysOf = (backups: SyntheticBackup[]): string[] =>
  backups.flatMap((b) => [b.dataKey, b.authenticatorKey, b.manifestKey]);

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
    set = await syntheticBackups(
      PREFIX,
      'db1',
      Array.from({ length: 1101 }, (_, i) => new Date(start + i * 8 * HOUR)),
    );
    const otherSet = await syntheticBackups(
      PREFIX,
      'db10',
      [1, 2, 3].map((d) => new Date(Date.UTC(2024, 0, d))),
    );
    // Broken manifests are authenticated (else they would be unauthenticated, not broken): one that does
    // not parse, one whose data object has another size.
    const broken = await syntheticBackup(PREFIX, 'db1', new Date('2025-02-02T03:00:00Z'));
    const brokenText = '{"formatVersion": 1, "truncated';
    const brokenSig = await (await testSigner()).sign(Buffer.from(brokenText));
    const sizeMismatch = await syntheticBackup(PREFIX, 'db1', new Date('2025-02-03T03:00:00Z'));
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
      [broken.authenticatorKey, brokenSig],
      [broken.manifestKey, brokenText],
      [sizeMismatch.dataKey, Buffer.concat([sizeMismatch.body, Buffer.from('x')])],
      [sizeMismatch.authenticatorKey, sizeMismatch.authenticator],
      [sizeMismatch.manifestKey, sizeMismatch.manifest],
      ...foreign,
    ]);
    untouched = [...objectsOf(otherSet).map(([k]) => k), ...keysOf([broken, sizeMismatch]), ...foreign.map(([k]) => k)];
    before = await allKeys(client, bucket);
    // Three objects per backup: data, authenticator (.sig), manifest.
    expect(before.length).toBe(3 * 1101 + untouched.length);
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
    expect(seen.listPages).toBe(4); // 3312 keys under backups/db1/ (3 per backup): pages of 1000
    expect(seen.deletes).toEqual([]);
    expect(r.decisions).toHaveLength(1101);
    expect(r.decisions.filter((d) => d.keep).map((d) => d.backup.createdAt.toISOString())).toEqual(expectedKept);
    expect(r.deletedBackups).toHaveLength(1101 - expectedKept.length);
    // Manifest, data and authenticator of each doomed backup.
    expect(r.deletedKeys).toHaveLength(3 * (1101 - expectedKept.length));
    expect(r.broken.map((b) => b.manifestKey).sort()).toEqual(
      untouched.filter((k) => /2025\/02\/0[23].*manifest\.json$/.test(k)),
    );
    expect(r.unauthenticated).toEqual([]);
    expect(r.warnings.join('\n')).toMatch(/not a valid manifest/);
    expect(await allKeys(client, bucket)).toEqual(before);
  });

  it('deletes exactly the backups no rule keeps: manifests first, in batches of 1000, then data, then .sig', async () => {
    const storage = s3Storage(bucket);
    const seen = instrument(storage);
    const r = await runPrune(config(), { storage, log: silentLogger, now: () => NOW });
    const doomed = 1101 - expectedKept.length; // 1082
    expect(r.deletedBackups).toHaveLength(doomed);
    expect(seen.deletes.map((batch) => batch.length)).toEqual([
      1000,
      doomed - 1000,
      1000,
      doomed - 1000,
      1000,
      doomed - 1000,
    ]);
    const phase = (i: number): string[] => seen.deletes.slice(i, i + 2).flat();
    expect(phase(0).every((k) => k.endsWith('.manifest.json'))).toBe(true);
    expect(phase(2).every((k) => k.endsWith('.sql.gz.gpg'))).toBe(true);
    expect(phase(4).every((k) => k.endsWith('.manifest.json.sig'))).toBe(true);
    expect(phase(4)).toHaveLength(doomed);
    // deletedKeys names every object deleted, authenticators included, in the order they went.
    expect(r.deletedKeys).toEqual(seen.deletes.flat());

    const keptBackups = set.filter((b) => expectedKept.includes(b.createdAt.toISOString()));
    expect(await allKeys(client, bucket)).toEqual([...keysOf(keptBackups), ...untouched].sort());
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
    const real = await syntheticBackup(PREFIX, 'db1', new Date(Date.now() - 3 * HOUR));
    // Key says three days ago, but the object was written just now (a clock that is off, or a slow upload).
    const old = await syntheticBackup(PREFIX, 'db1', new Date(Date.now() - 72 * HOUR));
    const other = await syntheticBackup(PREFIX, 'db10', new Date(Date.now() - 72 * HOUR));
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

  it('a run interrupted after writing its authenticator: the data object and its .sig go together', async () => {
    const bucket = await createBucket(s3Endpoint(), 'prune-inc-sig');
    const real = await syntheticBackup(PREFIX, 'db1', new Date(Date.now() - 3 * HOUR));
    const cut = await syntheticBackup(PREFIX, 'db1', new Date(Date.now() - 72 * HOUR));
    await putObjects(client, bucket, [
      ...objectsOf([real]),
      [cut.dataKey, cut.body],
      [cut.authenticatorKey, cut.authenticator],
    ]);
    const before = await allKeys(client, bucket);
    const storage = s3Storage(bucket);
    const later = new Date(Date.now() + 25 * HOUR);
    const dry = await runPrune(config({ dryRun: true }), { storage, log: silentLogger, now: () => later });
    expect(dry.incomplete.map((i) => [i.item.data.key, i.item.authenticator?.key, i.action])).toEqual([
      [cut.dataKey, cut.authenticatorKey, 'delete'],
    ]);
    expect(dry.deletedKeys).toEqual([cut.dataKey, cut.authenticatorKey]);
    expect(await allKeys(client, bucket)).toEqual(before);

    const r = await runPrune(config(), { storage, log: silentLogger, now: () => later });
    expect(r.deletedKeys).toEqual([cut.dataKey, cut.authenticatorKey]);
    expect(await allKeys(client, bucket)).toEqual(keysOf([real]).sort());
  });

  it('a prune interrupted between data and .sig: the lone .sig is collected after min-age, not before', async () => {
    const bucket = await createBucket(s3Endpoint(), 'prune-stray-sig');
    const real = await syntheticBackup(PREFIX, 'db1', new Date(Date.now() - 3 * HOUR));
    const gone = await syntheticBackup(PREFIX, 'db1', new Date(Date.now() - 72 * HOUR));
    const otherSet = await syntheticBackup(PREFIX, 'db10', new Date(Date.now() - 72 * HOUR));
    await putObjects(client, bucket, [
      ...objectsOf([real]),
      [gone.authenticatorKey, gone.authenticator],
      [otherSet.authenticatorKey, otherSet.authenticator],
    ]);
    const before = await allKeys(client, bucket);
    const storage = s3Storage(bucket);
    const young = await runPrune(config(), { storage, log: silentLogger });
    expect(young.deletedKeys).toEqual([]);
    expect(await allKeys(client, bucket)).toEqual(before);

    const later = new Date(Date.now() + 25 * HOUR);
    const dry = await runPrune(config({ dryRun: true }), { storage, log: silentLogger, now: () => later });
    expect(dry.strayAuthenticatorsDeleted).toEqual([gone.authenticatorKey]);
    expect(dry.deletedKeys).toEqual([gone.authenticatorKey]);
    expect(await allKeys(client, bucket)).toEqual(before);
    const r = await runPrune(config(), { storage, log: silentLogger, now: () => later });
    expect(r.strayAuthenticatorsDeleted).toEqual([gone.authenticatorKey]);
    expect(r.deletedKeys).toEqual([gone.authenticatorKey]);
    // The backup stays, and another set's lone .sig is not this prune's business.
    expect(await allKeys(client, bucket)).toEqual([...keysOf([real]), otherSet.authenticatorKey].sort());
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
    const b = await syntheticBackups(
      PREFIX,
      'db1',
      [5, 4, 3, 2].map((d) => new Date(Date.UTC(2026, 0, d, 3))),
    );
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
    // second: manifest locked → still a backup, data and .sig untouched; third: manifest went, data locked →
    // incomplete (its .sig goes: nothing without a manifest acts on one).
    expect(r.deletedBackups.map((x) => x.manifestKey)).toEqual([third.manifestKey, oldest.manifestKey]);
    const left = (await storage.list(`${PREFIX}/`)).map((o) => o.key).sort();
    expect(left).toEqual([...keysOf([newest, second]), third.dataKey].sort());
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
    for (const x of b) expect(left).toContain(x.authenticatorKey);
    expect(left).toContain(oldest.manifestKey);
  });
});

describe('prune of a directory destination', () => {
  it('applies the same policy to LocalStorage', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'prune-local-'));
    const b = await syntheticBackups(
      '',
      'db1',
      Array.from({ length: 30 }, (_, i) => new Date(Date.UTC(2026, 0, 1 + i, 3))),
    );
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
    expect(left).toEqual(keysOf(b.filter((x) => kept.includes(x.createdAt.toISOString().slice(0, 10)))).sort());
  });
});

describe('prune acts only on authenticated manifests (the bucket is hostile)', () => {
  const client: S3Client = testS3Client(s3Endpoint());
  const NOW = new Date('2026-01-14T12:00:00Z');
  // 13 genuine daily backups, Jan 1 … Jan 13 2026 at 03:00.
  const DAYS = Array.from({ length: 13 }, (_, i) => i + 1);
  // By hand, default policy (last 1, daily 7, weekly 4, monthly 12) at NOW: daily Jan 13 … Jan 7;
  // weekly (ISO): W03 Jan 13, W02 Jan 11, W01 Jan 4, and with a count left the oldest, Jan 1; monthly
  // Jan 13 and (counts left) the oldest, Jan 1. Deleted: Jan 2, 3, 5, 6.
  const expectedKept = ['13', '12', '11', '10', '09', '08', '07', '04', '01'].map((d) => `2026-01-${d}T03:00:00.000Z`);

  interface Fake {
    kind: string;
    manifestKey: string;
    objects: Array<[string, string | Buffer]>;
    reason: RegExp;
  }

  let genuine: SyntheticBackup[];
  let fakes: Fake[];

  /** A fake backup at `at` of one kind; `original` is a genuine backup to replay (re-dated copy). */
  async function fake(kind: string, at: Date, original: SyntheticBackup): Promise<Fake> {
    switch (kind) {
      case 'planted without .sig': {
        const b = await syntheticBackup(PREFIX, 'db1', at);
        return {
          kind,
          manifestKey: b.manifestKey,
          objects: objectsOf([b]).filter(([k]) => !k.endsWith('.sig')),
          reason: /no authenticator/,
        };
      }
      case 'edited (the .sig of the original)': {
        const b = await syntheticBackup(PREFIX, 'db1', at);
        const m = parseManifest(b.manifest);
        m.totals.rows = 123_456;
        const edited = serializeManifest(m);
        expect(edited).not.toBe(b.manifest);
        return {
          kind,
          manifestKey: b.manifestKey,
          objects: [
            [b.dataKey, b.body],
            [b.authenticatorKey, b.authenticator],
            [b.manifestKey, edited],
          ],
          reason: /does not match \(edited/,
        };
      }
      case 're-dated copy': {
        // The genuine backup's manifest, .sig and data, byte for byte, under a newer key.
        const manifestKey = manifestKeyFor(PREFIX, 'db1', at);
        return {
          kind,
          manifestKey,
          objects: [
            [dataKeyFor(PREFIX, 'db1', at, 'sql.gz.gpg'), original.body],
            [authenticatorKeyFor(manifestKey), original.authenticator],
            [manifestKey, original.manifest],
          ],
          reason: /not a backup at .*\(a copy\)/,
        };
      }
      case 'copied from another set': {
        // A genuine backup of set db10 (same key), placed in db1 at its own time.
        const other = await syntheticBackup(PREFIX, 'db10', at);
        const manifestKey = manifestKeyFor(PREFIX, 'db1', at);
        return {
          kind,
          manifestKey,
          objects: [
            [dataKeyFor(PREFIX, 'db1', at, 'sql.gz.gpg'), other.body],
            [authenticatorKeyFor(manifestKey), other.authenticator],
            [manifestKey, other.manifest],
          ],
          reason: /manifest of set 'db10', found under 'db1'/,
        };
      }
      case 'signed with another passphrase': {
        const attacker = await passphraseSigner('the attacker has a passphrase too');
        const b = await synthesizeBackup({ prefix: PREFIX, name: 'db1', createdAt: at, size: 8 }, attacker);
        return { kind, manifestKey: b.manifestKey, objects: objectsOf([b]), reason: /does not match/ };
      }
      default:
        throw new Error(kind);
    }
  }
  const KINDS = [
    'planted without .sig',
    'edited (the .sig of the original)',
    're-dated copy',
    'copied from another set',
    'signed with another passphrase',
  ];

  beforeAll(async () => {
    genuine = await syntheticBackups(
      PREFIX,
      'db1',
      DAYS.map((d) => new Date(Date.UTC(2026, 0, d, 3))),
    );
    fakes = [];
    // Each day: a fake newer than that day's genuine backup (23:00), the kinds taking turns, so a fake that
    // counted would win the day's slot (and keep-last) from the genuine backup.
    for (const [i, g] of genuine.entries()) {
      const at = new Date(g.createdAt.getTime() + 20 * HOUR);
      fakes.push(await fake(KINDS[i % KINDS.length] as string, at, g));
    }
    // And every kind on Jan 14, a day with no genuine backup: counted, it would take a daily slot.
    for (const [i, kind] of KINDS.entries()) {
      fakes.push(await fake(kind, new Date(Date.UTC(2026, 0, 14, 6, i)), genuine[12] as SyntheticBackup));
    }
  });

  /** Prunes a fresh bucket holding the genuine backups and `extra` objects; returns the result and what is left. */
  async function pruneBucket(
    extra: Array<[string, string | Buffer]>,
    p: Partial<PruneConfig> = {},
  ): Promise<{ r: PruneResult; before: string[]; after: string[] }> {
    const bucket = await createBucket(s3Endpoint(), 'prune-auth');
    await putObjects(client, bucket, [...objectsOf(genuine), ...extra]);
    const before = await allKeys(client, bucket);
    const r = await runPrune(config(p), { storage: s3Storage(bucket), log: silentLogger, now: () => NOW });
    return { r, before, after: await allKeys(client, bucket) };
  }
  const decisionsOf = (r: PruneResult): Array<[string, boolean, string[]]> =>
    r.decisions.map((d) => [d.backup.createdAt.toISOString(), d.keep, d.reasons]);

  it('fakes of every kind are never deleted, take no retention slot, and change no decision', async () => {
    expect(fakes).toHaveLength(13 + KINDS.length);
    const fakeObjects = fakes.flatMap((f) => f.objects);
    const baseline = await pruneBucket([]);
    const attacked = await pruneBucket(fakeObjects);

    // Without fakes: 13 genuine daily backups keep 7 daily, Jan 4 for its ISO week and the oldest, Jan 1.
    expect(baseline.r.decisions.filter((d) => d.keep).map((d) => d.backup.createdAt.toISOString())).toEqual(
      expectedKept,
    );
    expect(baseline.r.unauthenticated).toEqual([]);
    // With them: exactly the same decisions (times, keep/delete and the rules that keep), the same deletes.
    expect(decisionsOf(attacked.r)).toEqual(decisionsOf(baseline.r));
    expect(attacked.r.decisions.map((d) => d.backup.manifestKey).sort()).toEqual(
      genuine.map((g) => g.manifestKey).sort(),
    );
    expect(attacked.r.deletedKeys).toEqual(baseline.r.deletedKeys);
    expect(attacked.r.deletedKeys).toHaveLength(3 * (13 - expectedKept.length));
    // Every fake object is still there; the genuine ones left are those of the baseline run.
    expect(attacked.after).toEqual([...baseline.after, ...fakeObjects.map(([k]) => k)].sort());
    expect(attacked.before.filter((k) => !attacked.after.includes(k)).sort()).toEqual(
      [...baseline.r.deletedKeys].sort(),
    );
    // Each fake is reported as unauthenticated, with the reason of its kind; none is broken or incomplete.
    expect(attacked.r.unauthenticated.map((u) => u.manifestKey).sort()).toEqual(fakes.map((f) => f.manifestKey).sort());
    for (const f of fakes) {
      const u = attacked.r.unauthenticated.find((x) => x.manifestKey === f.manifestKey);
      expect(u?.reason, `${f.kind} at ${f.manifestKey}`).toMatch(f.reason);
    }
    expect(attacked.r.broken).toEqual([]);
    expect(attacked.r.incomplete).toEqual([]);
    expect(attacked.r.warnings.join('\n')).toMatch(
      new RegExp(`left alone: ${fakes.length} manifest\\(s\\) that do not authenticate .*never deleted by prune`),
    );
  });

  it('a wrong passphrase authenticates nothing: every backup is left alone, nothing is deleted', async () => {
    const { r, before, after } = await pruneBucket([], { authKeys: { passphrases: ['not the passphrase at all'] } });
    expect(r.decisions).toEqual([]);
    expect(r.deletedKeys).toEqual([]);
    expect(r.unauthenticated).toHaveLength(13);
    expect(after).toEqual(before);
  });

  it('without a key prune deletes nothing (not even a listing is read) and names both inputs', async () => {
    const bucket = await createBucket(s3Endpoint(), 'prune-nokey');
    await putObjects(client, bucket, objectsOf(genuine));
    const before = await allKeys(client, bucket);
    for (const authKeys of [{}, { passphrases: [], signingPublicKeys: [] }]) {
      const storage = s3Storage(bucket);
      const seen = instrument(storage);
      await expect(runPrune(config({ authKeys }), { storage, log: silentLogger, now: () => NOW })).rejects.toThrow(
        /encryption-passphrase.*signing-public-key/,
      );
      expect(seen.listPages).toBe(0);
      expect(seen.deletes).toEqual([]);
    }
    expect(await allKeys(client, bucket)).toEqual(before);
    // The action and pgdr refuse it while reading inputs, before any I/O, naming both inputs.
    const read = () => readPruneConfig((n) => ({ destination: `s3://${bucket}/${PREFIX}`, name: 'db1' })[n] ?? '');
    expect(read).toThrow(UserError);
    expect(read).toThrow(/'encryption-passphrase'.*'signing-public-key'.*nothing was deleted/);
  });
});
