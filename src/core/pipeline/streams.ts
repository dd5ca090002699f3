/** Small composable stream stages: hashing, metering, the plain-dump trailer check. */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Passes bytes through, counting them and computing their SHA-256. */
export class HashStage extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  private digest?: string;

  /** `onBytes`: told the running byte count after each chunk (for progress lines). */
  constructor(private readonly onBytes?: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    cb();
  }

  /** The hex SHA-256 of everything that passed; only once the stream has ended. */
  get sha256(): string {
    if (!this.digest) throw new Error('hash read before the stream ended');
    return this.digest;
  }
}

/** Counts bytes (for progress and ratios). */
export class Meter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** Stream chunk size between our stages: big enough that per-chunk costs vanish, small enough to not matter. */
export const STAGE_CHUNK = 1024 * 1024;

/**
 * Gathers small chunks into ~`target`-byte ones. A child's pipe arrives in the pieces it was written in
 * (pg_dump writes 4–8 KiB at a time: ~140 000 chunks per GB); every later stage, hash update and write
 * call is paid per chunk, so one copy here is far cheaper than that.
 */
export class Coalesce extends Transform {
  private parts: Buffer[] = [];
  private size = 0;
  private readonly target: number;

  constructor(target = STAGE_CHUNK) {
    super();
    this.target = target;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.size === 0 && chunk.length >= this.target) {
      cb(null, chunk);
      return;
    }
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.size < this.target) {
      cb();
      return;
    }
    const out = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    cb(null, out);
  }

  override _flush(cb: TransformCallback): void {
    if (this.size) this.push(Buffer.concat(this.parts, this.size));
    this.parts = [];
    this.size = 0;
    cb();
  }
}

export const PLAIN_DUMP_TRAILER = '-- PostgreSQL database dump complete';

/**
 * Fails the stream unless it ends with pg_dump's completion trailer: a plain dump without it was cut
 * short, whatever pg_dump's exit status says.
 */
export class TrailerCheck extends Transform {
  private tail = Buffer.alloc(0);
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.tail =
      chunk.length >= 256 ? Buffer.from(chunk.subarray(-256)) : Buffer.concat([this.tail, chunk]).subarray(-256);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (!this.tail.toString('utf8').includes(PLAIN_DUMP_TRAILER)) {
      cb(new Error(`the dump is incomplete: pg_dump's output does not end with '${PLAIN_DUMP_TRAILER}'`));
    } else cb();
  }
}

/** Fails an empty stream: pg_dump never produces zero bytes for a real database. */
export class NonEmptyCheck extends Transform {
  private seen = false;
  constructor(private readonly what: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (chunk.length) this.seen = true;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    cb(this.seen ? null : new Error(`${this.what} produced no output`));
  }
}

/** Calls `report` every `intervalMs` while a long operation runs; returns a stop function. */
export function every(intervalMs: number, report: () => void): () => void {
  const t = setInterval(report, intervalMs);
  t.unref();
  return () => clearInterval(t);
}

/** Reads a stream to its end and returns its size and SHA-256. */
export async function hashOf(
  stream: NodeJS.ReadableStream,
  signal?: AbortSignal,
): Promise<{ bytes: number; sha256: string }> {
  const h = new HashStage();
  await pipeline(stream, h, new Writable({ write: (_c, _e, cb) => cb() }), { signal });
  return { bytes: h.bytes, sha256: h.sha256 };
}
