/**
 * Replica destination: after the primary backup is complete, the same bytes and then a manifest reach a
 * second destination (two buckets on the test S3 server; S3 → a local directory), checked by SHA-256 on
 * the way and read back; a failed copy leaves nothing usable in the replica and the primary intact.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBackupConfig } from '../../src/commands/backup.js';
import { type BackupConfig, runBackup } from '../../src/core/backup.js';
import { ReplicaError } from '../../src/core/backups/replicate.js';
import { type Catalog, readCatalog } from '../../src/core/catalog.js';
import { type ManifestVerifier, manifestVerifier } from '../../src/core/manifest-auth.js';
import { parseDatabaseUrl } from '../../src/core/postgres/connection.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { S3Storage } from '../../src/core/storage/s3.js';
import type { Storage } from '../../src/core/storage/types.js';
import { UserError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/log.js';
import { createDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { FlippingDisk } from '../harness/flipping-disk.js';
import { createBucket } from '../harness/s3.js';

const PASSPHRASE = 'replica test passphrase';
/** Reads a catalog as prune/verify do: authenticated with the backup's passphrase. */
async function catalogOf(storage: Storage, prefix: string, name: string): Promise<Catalog> {
  const verifier = (await manifestVerifier({ passphrases: [PASSPHRASE] })) as ManifestVerifier;
  try {
    return await readCatalog(storage, prefix, name, { verifier });
  } finally {
    await verifier.close();
  }
}

const s3 = async (): Promise<S3Storage> =>
  new S3Storage({ bucket: await createBucket(s3Endpoint()), endpoint: s3Endpoint(), forcePathStyle: true });
const dir = (): LocalStorage => new LocalStorage(fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-replica-')));

async function bytesOf(storage: Storage, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await storage.read(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A directory whose reads come back with one byte flipped: a replica that stores garbage. */
describe('replica destination', () => {
  let db: string;
  let config: BackupConfig;
  beforeAll(() => {
    db = createDatabase('replica');
    psql(
      db,
      'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;',
    );
    config = {
      connection: parseDatabaseUrl(pgUrl(db)),
      prefix: 'prod',
      name: 'shop',
      format: 'plain',
      compression: 'gzip',
      compressionLevel: 1,
      encryption: { kind: 'passphrase', passphrase: PASSPHRASE },
      signer: { kind: 'hmac', passphrase: PASSPHRASE },
      verifyUpload: true,
    };
  });

  it.each([
    ['S3 → another S3 bucket', s3],
    ['S3 → a local directory', async () => dir()],
  ])('%s: the same bytes and a manifest naming the replica key', async (_label, openReplica) => {
    const primary = await s3();
    const replica = await openReplica();
    const r = await runBackup(config, {
      storage: primary,
      log: silentLogger,
      replica: { storage: replica, prefix: 'copy' },
    });
    expect(r.replicaError).toBeUndefined();
    expect(r.replica?.dataKey).toBe(r.manifest.object.key.replace(/^prod\//, 'copy/'));
    expect(r.replica?.location).toBe(replica.location);

    const primaryCatalog = await catalogOf(primary, 'prod', 'shop');
    const replicaCatalog = await catalogOf(replica, 'copy', 'shop');
    expect(primaryCatalog.backups).toHaveLength(1);
    expect(replicaCatalog.backups).toHaveLength(1);
    expect(replicaCatalog.broken).toEqual([]);
    const copy = replicaCatalog.backups[0]?.manifest;
    expect(copy?.object).toEqual({ ...r.manifest.object, key: r.replica?.dataKey });
    expect({ ...copy, object: null }).toEqual({ ...r.manifest, object: null });
    expect(await bytesOf(replica, r.replica?.dataKey as string)).toEqual(await bytesOf(primary, r.manifest.object.key));
  });

  it('a replica that stores other bytes fails the copy, says the primary is good, and leaves no replica backup', async () => {
    const primary = await s3();
    const replica = new FlippingDisk(fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-replica-bad-')), 10);
    const r = await runBackup(config, {
      storage: primary,
      log: silentLogger,
      replica: { storage: replica, prefix: '' },
    });
    expect(r.replicaError).toBeInstanceOf(ReplicaError);
    expect(r.replicaError?.message).toMatch(
      new RegExp(
        `^the primary backup s3://[^ ]+/${r.manifest.object.key.replace(/\./g, '\\.')} is complete and verified, but copying it to the replica ${replica.location} failed: read-back of .* does not match the manifest`,
      ),
    );
    expect((await catalogOf(primary, 'prod', 'shop')).backups.map((b) => b.manifest.object.sha256)).toEqual([
      r.manifest.object.sha256,
    ]);
    expect(await replica.list('')).toEqual([]);
  });

  it('an unreachable replica stops the run before any dump or upload', async () => {
    const primary = await s3();
    const missing = new S3Storage({ bucket: 'no-such-bucket-here', endpoint: s3Endpoint(), forcePathStyle: true });
    await expect(
      runBackup(config, { storage: primary, log: silentLogger, replica: { storage: missing, prefix: 'copy' } }),
    ).rejects.toThrow(/cannot reach s3:\/\/no-such-bucket-here: the bucket does not exist/);
    expect(await primary.list('')).toEqual([]);
  });

  describe('inputs', () => {
    const inputs = (o: Record<string, string>) => (name: string) => o[name] ?? '';
    const base = { 'database-url': 'postgres://u@h/db', 'encryption-passphrase': 'long enough passphrase' };
    it('replica-* inputs are read with their prefix', () => {
      const r = readBackupConfig(
        inputs({
          ...base,
          destination: 's3://primary/prod',
          'replica-destination': 's3://far-away/dr',
          'replica-s3-endpoint': 'https://minio.example.com:9000',
          'replica-s3-region': 'eu-west-1',
          sse: 'AES256',
        }),
      );
      expect(r.replica?.destination).toMatchObject({ kind: 's3', bucket: 'far-away', prefix: 'dr' });
      expect(r.replica?.s3).toMatchObject({
        endpoint: 'https://minio.example.com:9000',
        region: 'eu-west-1',
        sse: 'AES256',
      });
    });
    it.each([
      [
        { destination: 's3://primary/prod', 'replica-destination': 's3://primary/prod' },
        /must differ from 'destination'/,
      ],
      [
        { destination: 's3://primary/prod', 'replica-s3-region': 'eu-west-1' },
        /'replica-s3-region' is set but 'replica-destination' is not/,
      ],
      [
        { destination: 's3://primary/prod', 'replica-destination': 'ftp://x' },
        /'replica-destination' must be s3:\/\/bucket\/prefix/,
      ],
      [
        {
          destination: 's3://primary/prod',
          'replica-destination': 's3://bucket-two/x',
          'replica-s3-endpoint': 'minio:9000',
        },
        /'replica-s3-endpoint' must/,
      ],
    ])('%j is refused', (o, message) => {
      expect(() => readBackupConfig(inputs({ ...base, ...o }))).toThrow(UserError);
      expect(() => readBackupConfig(inputs({ ...base, ...o }))).toThrow(message);
    });
  });
});
