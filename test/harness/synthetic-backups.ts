/**
 * Synthetic backups for retention and monitoring tests: a tiny data object, a manifest that matches it
 * (key, size, time) and its authenticator, made by the same core as `pgdr synth` and authenticated with
 * TEST_AUTH_PASSPHRASE — pass that as `encryption-passphrase` to prune, monitor and notify. Written
 * straight to the S3 server or a directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type ManifestSigner, passphraseSigner } from '../../src/core/manifest-auth.js';
import { type SyntheticObjects, synthesizeBackup } from '../../src/core/synth.js';

/** The passphrase the synthetic backups are authenticated with. */
export const TEST_AUTH_PASSPHRASE = 'synthetic-backups-test-passphrase';

let signer: Promise<ManifestSigner> | undefined;
export function testSigner(): Promise<ManifestSigner> {
  signer ??= passphraseSigner(TEST_AUTH_PASSPHRASE);
  return signer;
}

export type SyntheticBackup = SyntheticObjects;

/**
 * One backup at `createdAt`. `synthetic: false` makes one that looks real to monitor (a fresh backup
 * counts); by default it is marked synthetic, as `pgdr synth` marks its backups.
 */
export async function syntheticBackup(
  prefix: string,
  name: string,
  createdAt: Date,
  bodySize = 8,
  options: { synthetic?: boolean } = {},
): Promise<SyntheticBackup> {
  return synthesizeBackup(
    { prefix, name, createdAt, size: bodySize, synthetic: options.synthetic },
    await testSigner(),
  );
}

/** Many at once. */
export function syntheticBackups(
  prefix: string,
  name: string,
  times: Date[],
  bodySize = 8,
  options: { synthetic?: boolean } = {},
): Promise<SyntheticBackup[]> {
  return Promise.all(times.map((t) => syntheticBackup(prefix, name, t, bodySize, options)));
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

/** The objects of each backup: data, and unless `withManifest` is false its authenticator and manifest. */
export function objectsOf(backups: SyntheticBackup[], { withManifest = true } = {}): Array<[string, string | Buffer]> {
  return backups.flatMap(
    (b): Array<[string, string | Buffer]> =>
      withManifest
        ? [
            [b.dataKey, b.body],
            [b.authenticatorKey, b.authenticator],
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
