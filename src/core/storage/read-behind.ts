/**
 * Reading a local file back while it is written: a second descriptor follows the writer, reading only
 * bytes whose write has completed (1 MiB reads on the thread pool into one reused buffer), and hashes them
 * (SHA-256). When the writer is done, what is left to read is the last piece, so a backup's read-back no
 * longer costs a second pass over the whole file after the dump (1 GB uncompressed: 0.9 s of the 1.3 s
 * between the dump's end and the manifest, measured).
 *
 * What it proves is what the read-back after the write proved: the file system holds, at the object's
 * path, the bytes that were sent. Both read the page cache; the caller compares the digest with the
 * sender's, and after the rename checks that the path names the inode that was read (device and inode
 * numbers) and that its size is the size read.
 *
 * (A first version read and hashed in a worker thread: the same wall time, and 10–20 MB more resident —
 * a zstd backup peaked at 145–157 MB, over the 150 MB bound.)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';

export interface ReadBack {
  bytes: number;
  sha256: string;
  /** Device and inode numbers of the file read (decimal strings). */
  dev: string;
  ino: string;
}

const READ_CHUNK = 1024 * 1024;

/** Follows one file being written; `advance` after each completed write, then `finish` (or `abort`). */
export class ReadBehind {
  private written = 0;
  private done = false;
  private aborted = false;
  private offset = 0;
  private wake: (() => void) | undefined;
  private readonly result: Promise<ReadBack>;

  private constructor(
    private readonly fh: fs.FileHandle,
    private readonly id: { dev: string; ino: string },
  ) {
    this.result = this.follow();
    this.result.catch(() => {});
  }

  /** Opens `path` (created by the writer already) for reading behind it. */
  static async open(path: string): Promise<ReadBehind> {
    const fh = await fs.open(path, 'r');
    try {
      const st = await fh.stat({ bigint: true });
      return new ReadBehind(fh, { dev: String(st.dev), ino: String(st.ino) });
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private async follow(): Promise<ReadBack> {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    const hash = createHash('sha256');
    try {
      for (;;) {
        if (this.aborted) throw new Error('reading the file back: stopped');
        if (this.offset < this.written) {
          const want = Math.min(buf.length, this.written - this.offset);
          const { bytesRead } = await this.fh.read(buf, 0, want, this.offset);
          if (bytesRead === 0) {
            throw new Error(`reading the file back: it holds ${this.offset} bytes, ${this.written} were written to it`);
          }
          hash.update(buf.subarray(0, bytesRead));
          this.offset += bytesRead;
          continue;
        }
        if (this.done) {
          // Everything written is read: one more read must find the end of the file.
          const { bytesRead } = await this.fh.read(buf, 0, 1, this.offset);
          if (bytesRead !== 0) throw new Error('reading the file back: it holds more bytes than were written to it');
          return { bytes: this.offset, sha256: hash.digest('hex'), ...this.id };
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      await this.fh.close();
    }
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** `bytes` (in all, from the start) have been written. */
  advance(bytes: number): void {
    this.written = bytes;
    this.poke();
  }

  /** The writer is done after `bytes`: waits for the reader to reach the end and returns what it read. */
  finish(bytes: number): Promise<ReadBack> {
    this.done = true;
    this.advance(bytes);
    return this.result;
  }

  /** Stops reading (the write failed). */
  async abort(): Promise<void> {
    this.aborted = true;
    this.poke();
    await this.result.catch(() => {});
  }
}
