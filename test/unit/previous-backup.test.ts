/**
 * A backup looks up the set's newest authenticated backup (for its progress estimate and a failure's
 * summary) newest first and stops there: one manifest read and checked, not the whole set's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPreviousBackup } from '../../src/core/backups/dump.js';
import { readCatalog } from '../../src/core/catalog.js';
import { manifestVerifier } from '../../src/core/manifest-auth.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { objectsOf, syntheticBackups, TEST_AUTH_PASSPHRASE, writeFiles } from '../harness/synthetic-backups.js';

/** A directory that counts the manifests read from it. */
class CountingStorage extends LocalStorage {
  manifestsRead: string[] = [];
  override async read(key: string, options?: { signal?: AbortSignal; start?: number }) {
    if (key.endsWith('.manifest.json')) this.manifestsRead.push(key);
    return super.read(key, options);
  }
}

const DAY = 86_400_000;
const keys = { passphrases: [TEST_AUTH_PASSPHRASE] };

describe('findPreviousBackup', () => {
  it('reads the newest manifests only, and skips a newer one that does not authenticate', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-previous-'));
    const start = Date.UTC(2026, 0, 1, 3, 0, 0);
    const times = Array.from({ length: 30 }, (_, i) => new Date(start + i * DAY));
    const backups = await syntheticBackups('p', 'shop', times, 8, { synthetic: false });
    writeFiles(dir, objectsOf(backups));
    const storage = new CountingStorage(dir);

    const previous = await findPreviousBackup(storage, 'p', 'shop', keys);
    expect(previous?.createdAt).toBe(times[29]?.toISOString());
    expect(previous?.key).toBe(backups[29]?.dataKey);
    // Two readers at a time, newest first: at most the two newest were read.
    expect(storage.manifestsRead.length).toBeLessThanOrEqual(2);
    expect(storage.manifestsRead).toContain(backups[29]?.manifestKey);

    // The newest manifest's authenticator damaged: the one before it is the previous backup.
    const newest = backups[29] as (typeof backups)[number];
    const sig = path.join(dir, ...newest.authenticatorKey.split('/'));
    fs.writeFileSync(sig, `${fs.readFileSync(sig, 'utf8')}x`);
    storage.manifestsRead = [];
    const second = await findPreviousBackup(storage, 'p', 'shop', keys);
    expect(second?.createdAt).toBe(times[28]?.toISOString());
    expect(storage.manifestsRead.length).toBeLessThanOrEqual(4);

    // The whole catalog still reads every manifest and is not partial (what prune and monitor use).
    storage.manifestsRead = [];
    const verifier = await manifestVerifier(keys);
    try {
      const all = await readCatalog(storage, 'p', 'shop', { verifier: verifier ?? null });
      expect(all.partial).toBeUndefined();
      expect(all.backups).toHaveLength(29);
      expect(all.unauthenticated).toHaveLength(1);
      expect(storage.manifestsRead).toHaveLength(30);
    } finally {
      await verifier?.close();
    }
  });
});
