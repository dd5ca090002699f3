/**
 * Immutable copies: with object-lock-days, the data object (single PutObject and multipart) and the
 * manifest carry Object Lock retention and an integrity checksum (AWS rejects locked uploads without
 * one). s3rver has no Object Lock, so the requests are recorded at the SDK level on their way to it — the
 * command inputs and the HTTP headers actually sent — while the backup itself goes through end to end.
 * The real enforcement is checked by the MinIO e2e job in .github/workflows/ci.yml (bucket e2e-locked).
 */
import type { HttpRequest } from '@smithy/types';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBackupConfig } from '../../src/commands/backup.js';
import { runBackup } from '../../src/core/backup.js';
import { retentionFor } from '../../src/core/backups/dump.js';
import { readCatalog } from '../../src/core/catalog.js';
import { type ManifestVerifier, manifestVerifier } from '../../src/core/manifest-auth.js';
import { parseDatabaseUrl } from '../../src/core/postgres/connection.js';
import { createS3Client, S3Storage } from '../../src/core/storage/s3.js';
import { UserError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/log.js';
import { createDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { createBucket } from '../harness/s3.js';

interface Recorded {
  commands: Array<{ name: string; input: Record<string, unknown> }>;
  requests: Array<{ method: string; path: string; query: Record<string, unknown>; headers: Record<string, string> }>;
}

/** An S3 client for the test server that records every command's input and every HTTP request sent. */
function recordingClient(): { client: ReturnType<typeof createS3Client>; recorded: Recorded } {
  const recorded: Recorded = { commands: [], requests: [] };
  const client = createS3Client({ endpoint: s3Endpoint(), forcePathStyle: true, maxAttempts: 1 });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      recorded.commands.push({ name: context.commandName as string, input: { ...(args.input as object) } });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  client.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as HttpRequest;
      recorded.requests.push({ method: r.method, path: r.path, query: { ...r.query }, headers: { ...r.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRequests', priority: 'low' },
  );
  return { client, recorded };
}

const DAY = 86_400_000;
/** Authenticates the manifests (HMAC: no gpg needed for what this test is about). */
const PASSPHRASE = 'object lock test passphrase';

describe('object-lock-days (S3 Object Lock parameters reach the S3 API)', () => {
  let small: string;
  let large: string;
  beforeAll(() => {
    small = createDatabase('lock_small');
    psql(
      small,
      'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 100) g;',
    );
    large = createDatabase('lock_large');
    // ~12 MB of incompressible-ish text, stored uncompressed: several 5 MiB parts.
    psql(
      large,
      'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, 60000) g;',
    );
  });

  it.each([
    ['a small dump (one PutObject)', () => small, 'gzip', 'GOVERNANCE'],
    ['a multipart upload', () => large, 'none', 'COMPLIANCE'],
  ] as const)('%s: data and manifest carry retention and a CRC32 checksum', async (_label, db, compression, mode) => {
    const bucket = await createBucket(s3Endpoint());
    const { client, recorded } = recordingClient();
    const storage = new S3Storage({ bucket, client, partSize: 5 * 1024 * 1024 });
    const r = await runBackup(
      {
        connection: parseDatabaseUrl(pgUrl(db())),
        prefix: 'locked',
        format: 'plain',
        compression,
        compressionLevel: compression === 'none' ? null : 1,
        encryption: { kind: 'none' },
        signer: { kind: 'hmac', passphrase: PASSPHRASE },
        verifyUpload: true,
        objectLock: { days: 3, mode },
      },
      { storage, log: silentLogger },
    );
    const retainUntil = new Date(Date.parse(r.manifest.createdAt) + 3 * DAY);

    const sigKey = `${r.manifestKey}.sig`;
    const ourKeys = [r.manifest.object.key, r.manifestKey, sigKey];
    const writes = recorded.commands.filter(
      (c) =>
        ['PutObjectCommand', 'CreateMultipartUploadCommand'].includes(c.name) &&
        ourKeys.includes(c.input.Key as string),
    );
    // The data object (one way or the other), the manifest and its authenticator (.sig): a locked backup
    // whose .sig could be deleted would stop authenticating.
    expect(new Set(writes.map((w) => w.input.Key))).toEqual(new Set(ourKeys));
    for (const w of writes) {
      expect(w.input.ObjectLockMode).toBe(mode);
      expect((w.input.ObjectLockRetainUntilDate as Date).toISOString()).toBe(retainUntil.toISOString());
      expect(w.input.ChecksumAlgorithm).toBe('CRC32');
    }
    const multipart = recorded.commands.some((c) => c.name === 'CreateMultipartUploadCommand');
    expect(multipart).toBe(compression === 'none');

    // On the wire: every request that stores bytes of these objects has the retention headers (PutObject,
    // CreateMultipartUpload) and a checksum header (PutObject, UploadPart).
    const ours = recorded.requests.filter((q) => ourKeys.some((k) => q.path.endsWith(`/${k}`)));
    const bodyPuts = ours.filter((q) => q.method === 'PUT');
    expect(bodyPuts.length).toBeGreaterThanOrEqual(multipart ? 5 : 3);
    for (const q of bodyPuts) expect(q.headers['x-amz-checksum-crc32']).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    const starts = ours.filter((q) => (q.method === 'PUT' && !('partNumber' in q.query)) || 'uploads' in q.query);
    expect(starts.length).toBe(3);
    for (const q of starts) {
      expect(q.headers['x-amz-object-lock-mode']).toBe(mode);
      expect(q.headers['x-amz-object-lock-retain-until-date']).toBe(retainUntil.toISOString().replace('.000Z', 'Z'));
    }

    // And the backup is complete and intact in the (lock-less) test server.
    const verifier = (await manifestVerifier({ passphrases: [PASSPHRASE] })) as ManifestVerifier;
    const catalog = await readCatalog(storage, 'locked', undefined, { verifier });
    await verifier.close();
    expect(catalog.unauthenticated).toEqual([]);
    expect(catalog.backups.map((b) => b.manifest.object.sha256)).toEqual([r.manifest.object.sha256]);
  });

  it('plain writes without object-lock-days carry no retention', async () => {
    const bucket = await createBucket(s3Endpoint());
    const { client, recorded } = recordingClient();
    const storage = new S3Storage({ bucket, client });
    await storage.writeText('x/plain.json', '{}');
    const put = recorded.requests.find((q) => q.method === 'PUT');
    expect(put?.headers['x-amz-object-lock-mode']).toBeUndefined();
    expect(recorded.commands.find((c) => c.name === 'PutObjectCommand')?.input.ChecksumAlgorithm).toBeUndefined();
  });

  it('retentionFor: the retention date is the snapshot time plus the days', () => {
    const at = new Date('2026-11-25T10:00:00Z');
    expect(retentionFor(undefined, at)).toBeUndefined();
    expect(retentionFor({ days: 30, mode: 'COMPLIANCE' }, at)).toEqual({
      mode: 'COMPLIANCE',
      date: new Date('2026-12-25T10:00:00Z'),
    });
  });
});

describe('object lock inputs', () => {
  const inputs = (o: Record<string, string>) => (name: string) => o[name] ?? '';
  const base = { 'database-url': 'postgres://u@h/db', 'encryption-passphrase': 'long enough passphrase' };

  it.each([
    [
      { destination: '/tmp/backups', 'object-lock-days': '7' },
      /'object-lock-days' needs S3 storage with Object Lock: 'destination' is a local directory/,
    ],
    [
      { destination: 's3://bucket/p', 'replica-destination': '/mnt/copy', 'object-lock-days': '7' },
      /'replica-destination' is a local directory \(\/mnt\/copy\)/,
    ],
    [{ destination: 's3://bucket/p', 'object-lock-mode': 'COMPLIANCE' }, /'object-lock-mode' needs 'object-lock-days'/],
    [{ destination: 's3://bucket/p', 'object-lock-days': '0' }, /object-lock-days/],
    [{ destination: 's3://bucket/p', 'object-lock-days': '7', 'object-lock-mode': 'strict' }, /object-lock-mode/],
  ])('%j is refused before any I/O', (o, message) => {
    expect(() => readBackupConfig(inputs({ ...base, ...o }))).toThrow(UserError);
    expect(() => readBackupConfig(inputs({ ...base, ...o }))).toThrow(message);
  });

  it.each([
    [{ 'object-lock-days': '30' }, { days: 30, mode: 'GOVERNANCE' }],
    [
      { 'object-lock-days': '1', 'object-lock-mode': 'compliance' },
      { days: 1, mode: 'COMPLIANCE' },
    ],
    [{}, undefined],
  ])('%j → %j', (o, expected) => {
    expect(readBackupConfig(inputs({ ...base, destination: 's3://bucket/p', ...o })).config.objectLock).toEqual(
      expected,
    );
  });
});
