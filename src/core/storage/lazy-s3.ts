/**
 * The S3 storage, with the AWS SDK loaded on first use. Evaluating the SDK costs ~30 MB of resident memory
 * and ~0.1 s at start-up (measured: a bundle of client-s3 + lib-storage alone); a backup to a local
 * directory, a verify of a local file and the CLI's usage text never need it. The bundle keeps s3.ts and
 * the SDK in a chunk of their own that only this import loads.
 */
import type { Readable } from 'node:stream';
import type { S3StorageOptions } from './s3.js';
import type { ObjectInfo, Storage, WriteOptions, WriteResult } from './types.js';

export class LazyS3Storage implements Storage {
  readonly location: string;
  private loaded?: Promise<Storage>;

  constructor(private readonly options: S3StorageOptions) {
    this.location = `s3://${options.bucket}`;
  }

  private s3(): Promise<Storage> {
    this.loaded ??= import('./s3.js').then((m) => new m.S3Storage(this.options));
    return this.loaded;
  }

  async probe(): Promise<void> {
    return (await this.s3()).probe();
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.s3()).list(prefix);
  }
  async head(key: string): Promise<ObjectInfo | null> {
    return (await this.s3()).head(key);
  }
  async read(key: string, options?: { signal?: AbortSignal; start?: number }): Promise<Readable> {
    return (await this.s3()).read(key, options);
  }
  async readText(key: string): Promise<string> {
    return (await this.s3()).readText(key);
  }
  async write(key: string, body: Readable, options?: WriteOptions): Promise<WriteResult> {
    return (await this.s3()).write(key, body, options);
  }
  async writeText(key: string, text: string, options?: Omit<WriteOptions, 'expectedSize'>): Promise<void> {
    return (await this.s3()).writeText(key, text, options);
  }
  async writeTextIfAbsent(key: string, text: string): Promise<boolean> {
    return (await this.s3()).writeTextIfAbsent(key, text);
  }
  async delete(keys: string[]): Promise<{ deleted: string[] }> {
    return (await this.s3()).delete(keys);
  }
  async listIncompleteUploads(prefix: string): Promise<Array<{ key: string; uploadId: string; initiated?: Date }>> {
    return (await this.s3()).listIncompleteUploads(prefix);
  }
}
