/**
 * Synthetic backups for retention tests: a tiny data object and a manifest that parseManifest accepts and
 * that matches the data object (key, size, time), written straight to the S3 server or a directory.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { dataKeyFor, manifestKeyFor } from '../../src/core/layout.js';
import { CHECKSUM_ALGORITHM, type Manifest, serializeManifest } from '../../src/core/manifest.js';

export interface SyntheticBackup {
  createdAt: Date;
  dataKey: string;
  manifestKey: string;
  body: Buffer;
  manifest: string;
}

export function syntheticBackup(prefix: string, name: string, createdAt: Date, bodySize = 8): SyntheticBackup {
  const at = new Date(Math.floor(createdAt.getTime() / 1000) * 1000);
  const dataKey = dataKeyFor(prefix, name, at, 'sql.gz.gpg');
  const body = Buffer.alloc(bodySize, at.toISOString());
  const manifest: Manifest = {
    formatVersion: 1,
    tool: { name: 'postgres-dr', version: '0.0.0-test' },
    name,
    createdAt: at.toISOString(),
    completedAt: new Date(at.getTime() + 60_000).toISOString(),
    object: { key: dataKey, size: body.length, sha256: createHash('sha256').update(body).digest('hex') },
    dump: {
      format: 'plain',
      compression: 'gzip',
      compressionLevel: 6,
      database: name,
      serverVersion: '15.18',
      serverVersionNum: 150018,
      pgDumpVersion: '15.18',
      dumpSize: body.length * 3,
    },
    encryption: { scheme: 'openpgp-passphrase', cipher: 'AES256', keyFingerprint: null },
    checksumAlgorithm: CHECKSUM_ALGORITHM,
    tables: [],
    totals: { tables: 0, rows: 0 },
  };
  return {
    createdAt: at,
    dataKey,
    manifestKey: manifestKeyFor(prefix, name, at),
    body,
    manifest: serializeManifest(manifest),
  };
}

/** Runs `fn` over `items`, `concurrency` at a time. */
export async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Writes objects (key → body) into a bucket, 24 at a time. */
export async function putObjects(
  client: S3Client,
  bucket: string,
  objects: Array<[string, string | Buffer]>,
): Promise<void> {
  await inParallel(objects, 24, async ([Key, Body]) => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
  });
}

export function objectsOf(backups: SyntheticBackup[], { withManifest = true } = {}): Array<[string, string | Buffer]> {
  return backups.flatMap(
    (b): Array<[string, string | Buffer]> =>
      withManifest
        ? [
            [b.dataKey, b.body],
            [b.manifestKey, b.manifest],
          ]
        : [[b.dataKey, b.body]],
  );
}

/** Writes objects into a directory laid out like a LocalStorage destination. */
export function writeFiles(root: string, objects: Array<[string, string | Buffer]>): void {
  for (const [key, body] of objects) {
    const file = path.join(root, ...key.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
  }
}

/** Every key in the bucket (all pages), sorted. */
export async function allKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of r.Contents ?? []) keys.push(o.Key as string);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}
