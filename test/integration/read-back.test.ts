/**
 * The backup's read-back check on a local directory: an object that is not what was sent (same size, one
 * byte changed on the way to the disk) fails the backup and leaves nothing that looks like a backup; and
 * LocalStorage.hash, which that check uses, agrees with a plain SHA-256 of the file at any size.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BackupConfig, runBackup } from '../../src/core/backup.js';
import { parseDatabaseUrl } from '../../src/core/postgres/connection.js';
import { hashStored } from '../../src/core/storage/index.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { silentLogger } from '../../src/util/log.js';
import { createDatabase, pgUrl, psql } from '../harness/context.js';
import { FlippingDisk } from '../harness/flipping-disk.js';

/** A disk that changes one byte in the middle of every data object after it is written (size unchanged). */
const flipping = (dir: string): FlippingDisk => new FlippingDisk(dir, (size) => Math.floor(size / 2), 0x01);

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
});
