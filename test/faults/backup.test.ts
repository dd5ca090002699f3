/**
 * The bundled backup action with its S3 endpoint behind the fault proxy: transient failures are retried
 * and the stored object is byte-identical to what the manifest records; permanent failures fail the run and
 * leave no manifest, no data object and no multipart upload behind.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/core/manifest.js';
import { type ActionRun, runAction } from '../harness/action.js';
import { createDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { addLargeTable } from '../harness/fixtures.js';
import { makeKeyPair, type TestKeyPair } from '../harness/gpg-keys.js';
import { createBucket, testS3Client } from '../harness/s3.js';
import { allKeys } from '../harness/synthetic-backups.js';

let proxy: FaultProxy;
/** A plain, uncompressed dump of more than two 8 MiB parts. */
let bigDb: string;
/** A dump that fits in one PutObject. */
let smallDb: string;
/** Unencrypted backups must be signed. */
let signing: TestKeyPair;
const direct = () => testS3Client(s3Endpoint());

function partOf(url: string): string {
  return new URL(url, 'http://x').searchParams.get('partNumber') ?? '?';
}

async function backup(db: string, bucket: string): Promise<ActionRun> {
  return runAction('backup', {
    'database-url': pgUrl(db),
    destination: `s3://${bucket}/backups`,
    's3-endpoint': proxy.url,
    's3-force-path-style': 'true',
    name: 'faulty',
    compression: 'none',
    encryption: 'none',
    'signing-key': signing.privateKey,
  });
}

async function download(bucket: string, key: string): Promise<Buffer> {
  const r = await direct().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** Every object and every unfinished multipart upload in the bucket. */
async function leftovers(bucket: string): Promise<{ keys: string[]; uploads: string[] }> {
  const u = await direct().send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return { keys: await allKeys(direct(), bucket), uploads: (u.Uploads ?? []).map((x) => `${x.Key} ${x.UploadId}`) };
}

/** The run succeeded and the stored object is the one its manifest describes, byte for byte. */
async function expectIntactBackup(run: ActionRun, bucket: string): Promise<void> {
  expect(run.errors).toEqual([]);
  expect(run.status).toBe(0);
  const key = run.outputs.key as string;
  const manifest = parseManifest((await download(bucket, run.outputs['manifest-key'] as string)).toString());
  const data = await download(bucket, key);
  expect(data.length).toBe(manifest.object.size);
  expect(createHash('sha256').update(data).digest('hex')).toBe(manifest.object.sha256);
  expect(data.subarray(-200).toString()).toContain('PostgreSQL database dump complete');
  expect((await leftovers(bucket)).uploads).toEqual([]);
}

beforeAll(async () => {
  proxy = await startFaultProxy(s3Endpoint());
  signing = makeKeyPair('faults signing <faults@example.com>');
  bigDb = createDatabase('faults_big');
  addLargeTable(bigDb, 40);
  smallDb = createDatabase('faults_small');
  psql(
    smallDb,
    'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 300) g;',
  );
});
afterAll(async () => {
  await proxy.stop();
});
beforeEach(() => {
  proxy.reset();
});

describe('backup through a faulty S3 endpoint', () => {
  it('retries a part answered 500 and a part whose connection was reset; the object matches its manifest', async () => {
    const bucket = await createBucket(s3Endpoint(), 'faults-bk');
    proxy.add({ match: { op: 'UploadPart', query: { partNumber: '2' } }, action: { kind: 'error', status: 500 } });
    proxy.add({ match: { op: 'UploadPart', query: { partNumber: '3' } }, action: { kind: 'reset', stage: 'request' } });
    const run = await backup(bigDb, bucket);
    await expectIntactBackup(run, bucket);
    const parts = proxy.of('UploadPart').map((p) => `${partOf(p.url)}:${p.status}`);
    expect(parts.length).toBeGreaterThanOrEqual(5);
    expect(parts).toEqual(expect.arrayContaining(['1:200', '2:500', '2:200', '3:0', '3:200']));
  });

  it('resumes the read-back of the stored object when its body is cut short', async () => {
    const bucket = await createBucket(s3Endpoint(), 'faults-bk');
    proxy.add({ match: { op: 'GetObject', path: /\.sql$/ }, action: { kind: 'truncate', afterBytes: 5_000_000 } });
    const run = await backup(bigDb, bucket);
    await expectIntactBackup(run, bucket);
    expect(proxy.of('GetObject', /\.sql$/).map((g) => g.range ?? 'whole')).toEqual(['whole', 'bytes=5000000-']);
  });

  it('a part that always fails while the dump still streams: the S3 error is reported, the upload aborted, nothing left', async () => {
    const bucket = await createBucket(s3Endpoint(), 'faults-bk');
    proxy.add({
      match: { op: 'UploadPart', query: { partNumber: '2' } },
      when: 'always',
      action: { kind: 'error', status: 500 },
    });
    // Part 1 held back: the upload gives up on part 2 while the dump still streams (as on a loaded machine
    // or with a big database), and the stages it stops end with AbortErrors. Should part 1 come back first,
    // the dump ends before part 2 is given up: the same outcome is expected either way.
    proxy.add({ match: { op: 'UploadPart', query: { partNumber: '1' } }, action: { kind: 'delay', ms: 8000 } });
    const run = await backup(bigDb, bucket);
    expect(run.status).toBe(1);
    // The cause, not the "operation was aborted" of the stages stopped because of it.
    expect(run.errors).toEqual([expect.stringMatching(/internal error/i)]);
    // The SDK's five attempts for that part, then AbortMultipartUpload.
    expect(proxy.of('UploadPart').filter((p) => partOf(p.url) === '2')).toHaveLength(5);
    expect(proxy.of('AbortMultipartUpload').map((r) => r.status)).toEqual([204]);
    expect(proxy.of('CompleteMultipartUpload')).toEqual([]);
    expect(await leftovers(bucket)).toEqual({ keys: [], uploads: [] });
  });

  it('CompleteMultipartUpload answering 200 with an <Error>: the run fails, no manifest, no object, no upload', async () => {
    const bucket = await createBucket(s3Endpoint(), 'faults-bk');
    proxy.add({ match: { op: 'CompleteMultipartUpload' }, when: 'always', action: { kind: 'ok-with-error' } });
    const run = await backup(bigDb, bucket);
    expect(run.status).toBe(1);
    expect(run.errors.join('\n')).toMatch(/internal error/i);
    // Retried (the SDK turns a 200 <Error> into a 5xx), then given up and aborted.
    expect(proxy.of('CompleteMultipartUpload').length).toBeGreaterThanOrEqual(2);
    expect(proxy.of('AbortMultipartUpload')).toHaveLength(1);
    expect(await leftovers(bucket)).toEqual({ keys: [], uploads: [] });
  });

  it('CompleteMultipartUpload done but its answer lost: no data object without a manifest is left', async () => {
    const bucket = await createBucket(s3Endpoint(), 'faults-bk');
    proxy.add({ match: { op: 'CompleteMultipartUpload' }, action: { kind: 'reset', stage: 'response' } });
    const run = await backup(bigDb, bucket);
    // s3rver stored the object; the SDK's retries of the completion find no such upload any more (s3rver
    // answers 500 where S3 says NoSuchUpload). The run cannot tell the object is its own: it fails and
    // removes it.
    const completes = proxy.of('CompleteMultipartUpload').map((r) => r.status);
    expect(completes[0]).toBe(0);
    expect(completes.slice(1).every((s) => s >= 400)).toBe(true);
    expect(run.status).toBe(1);
    expect(proxy.of('DeleteObjects')).not.toEqual([]);
    expect(await leftovers(bucket)).toEqual({ keys: [], uploads: [] });
  });

  it('503 SlowDown on the manifest: retried with backoff, then the backup completes', async () => {
    const bucket = await createBucket(s3Endpoint(), 'faults-bk');
    proxy.add({
      match: { op: 'PutObject', path: /\.manifest\.json$/ },
      when: { first: 2 },
      action: { kind: 'error', status: 503 },
    });
    const run = await backup(smallDb, bucket);
    await expectIntactBackup(run, bucket);
    expect(proxy.of('PutObject', /\.manifest\.json$/).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('403 AccessDenied on the manifest: one attempt, a clear failure, the data object removed', async () => {
    const bucket = await createBucket(s3Endpoint(), 'faults-bk');
    proxy.add({
      match: { op: 'PutObject', path: /\.manifest\.json$/ },
      when: 'always',
      action: { kind: 'error', status: 403 },
    });
    const run = await backup(smallDb, bucket);
    expect(run.status).toBe(1);
    expect(run.errors.join('\n')).toMatch(/Access Denied/);
    expect(proxy.of('PutObject', /\.manifest\.json$/)).toHaveLength(1);
    expect(await leftovers(bucket)).toEqual({ keys: [], uploads: [] });
  });

  it('403 AccessDenied on the manifest authenticator (.sig): the run fails, no manifest, nothing left', async () => {
    const bucket = await createBucket(s3Endpoint(), 'faults-bk');
    proxy.add({
      match: { op: 'PutObject', path: /\.manifest\.json\.sig$/ },
      when: 'always',
      action: { kind: 'error', status: 403 },
    });
    const run = await backup(smallDb, bucket);
    expect(run.status).toBe(1);
    expect(run.errors.join('\n')).toMatch(/Access Denied/);
    // The authenticator goes first: without it no manifest is written.
    expect(proxy.of('PutObject', /\.manifest\.json$/)).toEqual([]);
    expect(await leftovers(bucket)).toEqual({ keys: [], uploads: [] });
  });

  it('403 on the bucket: the preflight says access denied after one attempt, nothing is written', async () => {
    const bucket = await createBucket(s3Endpoint(), 'faults-bk');
    proxy.add({ match: { op: 'HeadBucket' }, when: 'always', action: { kind: 'error', status: 403 } });
    const run = await backup(smallDb, bucket);
    expect(run.status).toBe(1);
    expect(run.errors.join('\n')).toMatch(/access denied \(check the credentials and the bucket policy\)/);
    expect(proxy.of('HeadBucket')).toHaveLength(1);
    expect(proxy.requests.filter((r) => r.method !== 'HEAD' && r.method !== 'GET')).toEqual([]);
  });
});
