import { hashOf } from '../pipeline/streams.js';
import type { Destination } from './destination.js';
import { LazyS3Storage } from './lazy-s3.js';
import { LocalStorage } from './local.js';
import type { S3StorageOptions } from './s3.js';
import type { Storage } from './types.js';

export type { Destination, S3Options } from './destination.js';
export { parseDestination } from './destination.js';
export type { ObjectInfo, Storage, WriteOptions, WriteResult } from './types.js';
export { DeleteError } from './types.js';

/** Size and SHA-256 of a stored object: by the storage itself where it offers that, else by streaming it. */
export async function hashStored(
  storage: Storage,
  key: string,
  signal?: AbortSignal,
): Promise<{ bytes: number; sha256: string }> {
  return storage.hash ? storage.hash(key, { signal }) : hashOf(await storage.read(key, { signal }), signal);
}

export function openStorage(dest: Destination, s3: Omit<S3StorageOptions, 'bucket'> = {}): Storage {
  return dest.kind === 's3' ? new LazyS3Storage({ ...s3, bucket: dest.bucket }) : new LocalStorage(dest.root);
}
