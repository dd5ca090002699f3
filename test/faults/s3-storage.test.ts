/**
 * S3Storage against the test S3 server through the fault proxy: what each storage call does when a request
 * fails — retried (5xx, SlowDown, resets), not retried (403, 404), resumed (a body cut short), or refused
 * outright (a listing page that fails, keys DeleteObjects would not delete). Attempts are counted on the
 * proxy; nothing here depends on timing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MIN_PART_SIZE, S3Storage } from '../../src/core/storage/s3.js';
import { DeleteError } from '../../src/core/storage/types.js';
import { s3Endpoint } from '../harness/context.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { createBucket, testS3Client } from '../harness/s3.js';
import { allKeys, putObjects } from '../harness/synthetic-backups.js';

let proxy: FaultProxy;
let bucket: string;
let storage: S3Storage;
const direct = () => testS3Client(s3Endpoint());

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function readAllOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  proxy = await startFaultProxy(s3Endpoint());
  bucket = await createBucket(s3Endpoint(), 'faults-storage');
  storage = new S3Storage({ bucket, endpoint: proxy.url, forcePathStyle: true });
});
afterAll(async () => {
  await proxy.stop();
});
beforeEach(() => {
  proxy.reset();
});

describe('reads', () => {
  const body = randomBytes(3 * 1024 * 1024 + 17);
  beforeAll(async () => {
    await direct().send(new PutObjectCommand({ Bucket: bucket, Key: 'read/blob', Body: body }));
  });

  it('resumes a body cut short with a Range request, and the bytes are identical', async () => {
    proxy.add({ match: { op: 'GetObject', path: /read\/blob$/ }, action: { kind: 'truncate', afterBytes: 700_000 } });
    const got = await readAllOf(await storage.read('read/blob'));
    expect(sha256(got)).toBe(sha256(body));
    const gets = proxy.of('GetObject', /read\/blob$/);
    expect(gets.map((g) => [g.fault ?? 'ok', g.range ?? ''])).toEqual([
      ['truncate', ''],
      ['ok', 'bytes=700000-'],
    ]);
  });

  it('resumes from the offset asked for, too', async () => {
    proxy.add({ match: { op: 'GetObject' }, action: { kind: 'truncate', afterBytes: 1000 } });
    const got = await readAllOf(await storage.read('read/blob', { start: 5000 }));
    expect(got.equals(body.subarray(5000))).toBe(true);
    expect(proxy.of('GetObject').map((g) => g.range)).toEqual(['bytes=5000-', 'bytes=6000-']);
  });

  it('gives up after a bounded number of resumes when every read is cut short, and says where', async () => {
    proxy.add({ match: { op: 'GetObject' }, when: 'always', action: { kind: 'truncate', afterBytes: 100_000 } });
    await expect(readAllOf(await storage.read('read/blob'))).rejects.toThrow(
      /reading s3:\/\/.*\/read\/blob failed at byte 600000 of 3145745 after 5 resumed read/,
    );
    expect(proxy.of('GetObject')).toHaveLength(6);
  });

  it('reads a manifest-sized text through a reset connection (the SDK retries before the headers)', async () => {
    await direct().send(new PutObjectCommand({ Bucket: bucket, Key: 'read/text', Body: 'héllo' }));
    proxy.add({ match: { op: 'GetObject' }, action: { kind: 'reset', stage: 'request' } });
    expect(await storage.readText('read/text')).toBe('héllo');
    expect(proxy.of('GetObject').map((g) => g.status)).toEqual([0, 200]);
  });

  it('404 NoSuchKey is not retried: one attempt, a clear error', async () => {
    await expect(storage.read('read/missing')).rejects.toThrow(/The specified key does not exist/);
    expect(proxy.of('GetObject')).toHaveLength(1);
    expect(await storage.head('read/missing')).toBeNull();
    expect(proxy.of('HeadObject')).toHaveLength(1);
  });
});

describe('writes', () => {
  it('503 SlowDown is retried with backoff until it passes', async () => {
    proxy.add({
      match: { op: 'PutObject', path: /slow$/ },
      when: { first: 2 },
      action: { kind: 'error', status: 503 },
    });
    await storage.writeText('w/slow', 'x');
    expect(proxy.of('PutObject', /slow$/).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('SlowDown that never ends: bounded, gives up after maxAttempts', async () => {
    proxy.add({ match: { op: 'PutObject' }, when: 'always', action: { kind: 'error', status: 503 } });
    const impatient = new S3Storage({ bucket, endpoint: proxy.url, forcePathStyle: true, maxAttempts: 3 });
    await expect(impatient.writeText('w/never', 'x')).rejects.toThrow(/reduce your request rate/);
    expect(proxy.of('PutObject')).toHaveLength(3);
  });

  it('403 AccessDenied is not retried: one attempt, the error says access denied', async () => {
    proxy.add({ match: { op: 'PutObject' }, when: 'always', action: { kind: 'error', status: 403 } });
    await expect(storage.writeText('w/denied', 'x')).rejects.toThrow(/Access Denied/);
    expect(proxy.of('PutObject')).toHaveLength(1);
  });

  it('probe names access denied on 403, without retrying', async () => {
    proxy.add({ match: { op: 'HeadBucket' }, when: 'always', action: { kind: 'error', status: 403 } });
    await expect(storage.probe()).rejects.toThrow(/access denied \(check the credentials/);
    expect(proxy.of('HeadBucket')).toHaveLength(1);
  });
});

describe('listings', () => {
  let keys: string[];
  beforeAll(async () => {
    keys = Array.from({ length: 1203 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
    await putObjects(direct(), bucket, [
      ...keys.map((k): [string, string] => [k, 'x']),
      ['other/outside', 'x'] as [string, string],
    ]);
  });

  it('reads every page of a listing of more than 1000 objects', async () => {
    const listed = await storage.list('many/');
    expect(listed.map((o) => o.key).sort()).toEqual(keys);
    expect(proxy.of('ListObjectsV2')).toHaveLength(2);
  });

  it('retries a page that fails once, and still returns every object', async () => {
    proxy.add({
      match: { op: 'ListObjectsV2', query: { 'continuation-token': true } },
      action: { kind: 'error', status: 500 },
    });
    expect(await storage.list('many/')).toHaveLength(keys.length);
    expect(proxy.of('ListObjectsV2').map((r) => r.status)).toEqual([200, 500, 200]);
  });

  it('throws when a later page keeps failing: never a partial listing', async () => {
    proxy.add({
      match: { op: 'ListObjectsV2', query: { 'continuation-token': true } },
      when: 'always',
      action: { kind: 'error', status: 500 },
    });
    await expect(storage.list('many/')).rejects.toThrow(/internal error/);
    expect(proxy.of('ListObjectsV2').map((r) => r.status)).toEqual([200, 500, 500, 500, 500, 500]);
  });
});

describe('deletes', () => {
  it('names the keys DeleteObjects reported as errors, and deletes the rest', async () => {
    const ks = ['d/a', 'd/b', 'd/c & <d>', 'd/e'];
    await putObjects(
      direct(),
      bucket,
      ks.map((k): [string, string] => [k, k]),
    );
    proxy.add({ match: { op: 'DeleteObjects' }, action: { kind: 'delete-errors', keys: /\/(b|c & <d>)$/ } });
    const err = await storage.delete(ks).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeleteError);
    expect((err as DeleteError).message).toBe(
      'could not delete 2 object(s): d/b (AccessDenied), d/c & <d> (AccessDenied)',
    );
    expect((err as DeleteError).deleted.sort()).toEqual(['d/a', 'd/e']);
    expect((await allKeys(direct(), bucket)).filter((k) => k.startsWith('d/'))).toEqual(['d/b', 'd/c & <d>']);
  });
});

describe('multipart writes', () => {
  // 8 MiB parts: three parts and a bit.
  const body = randomBytes(3 * 8 * 1024 * 1024 + 1234);
  const stored = async (key: string): Promise<Buffer> => {
    const r = await direct().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  };

  it('retries a part answered 500 and a part whose connection was reset; the object is byte-identical', async () => {
    proxy.add({ match: { op: 'UploadPart', query: { partNumber: '2' } }, action: { kind: 'error', status: 500 } });
    proxy.add({ match: { op: 'UploadPart', query: { partNumber: '3' } }, action: { kind: 'reset', stage: 'request' } });
    const r = await storage.write('mp/ok', Readable.from([body]));
    expect(r.size).toBe(body.length);
    expect(sha256(await stored('mp/ok'))).toBe(sha256(body));
    const parts = proxy
      .of('UploadPart')
      .map((p) => `${new URL(p.url, 'http://x').searchParams.get('partNumber')}:${p.status}`);
    const count = Math.ceil(body.length / MIN_PART_SIZE);
    const expected = ['2:500', '3:0', ...Array.from({ length: count }, (_, i) => `${i + 1}:200`)];
    expect(parts.sort()).toEqual(expected.sort());
    expect(await storage.listIncompleteUploads('mp/')).toEqual([]);
  });
});
