import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export interface WriteOptions {
  contentType?: string;
  /** Expected size in bytes, to choose the multipart part size; a hint only. */
  expectedSize?: number;
  signal?: AbortSignal;
  /** S3 Object Lock: retain until this date in this mode. */
  retainUntil?: { date: Date; mode: 'COMPLIANCE' | 'GOVERNANCE' };
  /**
   * Read the object back as it is written, where the storage can (a local file: see read-behind.ts); the
   * result's `readBack` then says what was read, and the caller need not read it again. Others ignore it.
   */
  readBack?: boolean;
}

/** What a write stored: its size, and with `readBack` (where supported) what reading it back found. */
export interface WriteResult {
  size: number;
  readBack?: { bytes: number; sha256: string };
}

/**
 * One storage interface, two backends (S3 and a local directory). Keys are relative to the bucket (or the
 * directory) and use `/` as separator.
 */
export interface Storage {
  /** Where this is, for logs and summaries: `s3://bucket` or a path. Never holds credentials. */
  readonly location: string;
  /**
   * True when writeTextIfAbsent is known to be exclusive (O_EXCL on a local file system); S3-compatible
   * servers may ignore If-None-Match, so a lock there waits a moment and reads its token back.
   */
  readonly exclusiveCreate?: boolean;
  /** Fails fast, with a message that says so, when the storage cannot be reached or written. */
  probe(): Promise<void>;
  /**
   * Every object under `prefix`, all pages. Throws if any page fails: callers that delete must never act
   * on a partial listing.
   */
  list(prefix: string): Promise<ObjectInfo[]>;
  head(key: string): Promise<ObjectInfo | null>;
  /** A stream of the object's bytes; `start` resumes a read from that offset. */
  read(key: string, options?: { signal?: AbortSignal; start?: number }): Promise<Readable>;
  readText(key: string): Promise<string>;
  /**
   * Optional: the object's size and SHA-256, where the storage can compute them more cheaply than by
   * streaming the object (a local file: one reused buffer instead of a fresh one per chunk). Callers use
   * hashStored(), which falls back to reading the stream.
   */
  hash?(key: string, options?: { signal?: AbortSignal }): Promise<{ bytes: number; sha256: string }>;
  /**
   * Streams `body` into `key`. The object becomes visible only when complete; on any error (of the body or
   * the upload) nothing is left behind (multipart upload aborted, partial file removed). Returns bytes written.
   */
  write(key: string, body: Readable, options?: WriteOptions): Promise<WriteResult>;
  writeText(key: string, text: string, options?: Omit<WriteOptions, 'expectedSize'>): Promise<void>;
  /**
   * Creates `key` only if it does not exist (S3 `If-None-Match: *`, O_EXCL locally); false when it exists.
   * Some S3-compatible servers ignore the condition: callers that need exclusivity read the object back.
   */
  writeTextIfAbsent(key: string, text: string): Promise<boolean>;
  /** Deletes keys, in batches; throws naming the keys that could not be deleted. */
  delete(keys: string[]): Promise<{ deleted: string[] }>;
  /** Multipart uploads under `prefix` that were started and never completed or aborted (S3 only). */
  listIncompleteUploads(prefix: string): Promise<Array<{ key: string; uploadId: string; initiated?: Date }>>;
}

/** Thrown by delete when some keys could not be deleted; `deleted` did go. */
export class DeleteError extends Error {
  override name = 'DeleteError';
  constructor(
    message: string,
    readonly deleted: string[],
    readonly failed: Array<{ key: string; code: string; message: string }>,
  ) {
    super(message);
  }
}
