/**
 * The backup's read-back check on a local directory: an object that is not what was sent (same size, one
 * byte changed on the way to the disk) fails the backup and leaves nothing that looks like a backup; and
 * LocalStorage.hash, which that check uses, agrees with a plain SHA-256 of the file at any size.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BackupConfig, runBackup } from '../../src/core/backup.js';
import { parseDatabaseUrl } from '../../src/core/postgres/connection.js';
import { hashStored } from '../../src/core/storage/index.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { silentLogger } from '../../src/util/log.js';
import { createDatabase, pgUrl, psql } from '../harness/context.js';
import { FlippingDisk } from '../harness/flipping-disk.js';

/** A disk that changes one byte in the middle of every data object after it is written (size unchanged). */
const flipping = (dir: string): FlippingDisk => new FlippingDisk(dir, 1000, 0x01);

function files(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).flatMap((e) => (e.isFile() ? [e.name] : []));
}

describe('the read-back check on a local directory', () => {
  let config: BackupConfig;
  beforeAll(() => {
    const db = createDatabase('readback');
    psql(db, 'CREATE TABLE t (id int, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;');
    config = {
      connection: parseDatabaseUrl(pgUrl(db)),
      prefix: '',
      format: 'plain',
      compression: 'gzip',
      compressionLevel: 1,
      encryption: { kind: 'none' },
      // With no encryption, a signing key vouches for the manifest; HMAC keeps this test free of gpg.
      signer: { kind: 'hmac', passphrase: 'read-back test passphrase' },
      verifyUpload: true,
    };
  });

  it('fails a backup whose stored object differs from what was sent, and leaves no object and no manifest', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-flip-'));
    await expect(runBackup(config, { storage: flipping(dir), log: silentLogger })).rejects.toThrow(
      /read-back of .*\.sql\.gz does not match what was sent \(sha256 [0-9a-f]{64} vs [0-9a-f]{64}\)/,
    );
    expect(files(dir)).toEqual([]);
  });

  it('with verify-upload false the same damage goes unnoticed (the size matches): what the check is for', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-flip-'));
    const r = await runBackup({ ...config, verifyUpload: false }, { storage: flipping(dir), log: silentLogger });
    const stored = fs.readFileSync(path.join(dir, r.manifest.object.key));
    expect(createHash('sha256').update(stored).digest('hex')).not.toBe(r.manifest.object.sha256);
  });

  it('LocalStorage.hash is the SHA-256 and size of the file: empty, one byte, exactly and across 1 MiB reads', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-hash-'));
    const storage = new LocalStorage(dir);
    const MiB = 1024 * 1024;
    for (const size of [0, 1, MiB, MiB + 1, 3 * MiB - 7]) {
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 11)) & 0xff;
      fs.writeFileSync(path.join(dir, `f${size}`), bytes);
      const expected = { bytes: size, sha256: createHash('sha256').update(bytes).digest('hex') };
      expect(await storage.hash(`f${size}`)).toEqual(expected);
      expect(await hashStored(storage, `f${size}`)).toEqual(expected);
    }
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(storage.hash('f1', { signal: aborted })).rejects.toThrow('stop');
  });

  it('a write with readBack reads the file behind the writer: the SHA-256 and size of what landed, at any size', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-behind-'));
    const storage = new LocalStorage(dir);
    for (const size of [0, 1, 1024 * 1024 + 3, 5 * 1024 * 1024 - 1]) {
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 9)) & 0xff;
      // Uneven pieces with pauses, so the reader catches up with the writer and waits for it.
      async function* pieces() {
        for (let off = 0, n = 1; off < size; off += n, n = (n * 3 + 7919) % 700_000) {
          yield bytes.subarray(off, off + n);
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      const r = await storage.write(`d/f${size}`, Readable.from(pieces()), { readBack: true });
      expect(r).toEqual({ size, readBack: { bytes: size, sha256: createHash('sha256').update(bytes).digest('hex') } });
      expect(fs.readFileSync(path.join(dir, 'd', `f${size}`))).toEqual(bytes);
    }
    expect(files(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it("a file that grows behind the writer's back fails the write and leaves nothing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-behind-'));
    const storage = new LocalStorage(dir);
    async function* pieces() {
      yield Buffer.alloc(4096, 1);
      await new Promise((r) => setTimeout(r, 50));
      // Someone else appends to the temporary file while the write goes on.
      const partial = files(dir).find((f) => f.endsWith('.partial')) as string;
      fs.appendFileSync(path.join(dir, partial), Buffer.alloc(10_000, 9));
      yield Buffer.alloc(4096, 2);
    }
    await expect(storage.write('x.bin', Readable.from(pieces()), { readBack: true })).rejects.toThrow(
      /reading the file back: it holds (more bytes than were written to it|\d+ bytes, \d+ were written to it)/,
    );
    expect(files(dir)).toEqual([]);
  });
});
