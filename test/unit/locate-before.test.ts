/** `backup: before:<time>`: the newest authenticated backup strictly before a time, in a local destination. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateBackup } from '../../src/core/backups/locate.js';
import { type ManifestVerifier, manifestVerifier } from '../../src/core/manifest-auth.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { UserError } from '../../src/util/errors.js';
import { objectsOf, syntheticBackups, TEST_AUTH_PASSPHRASE, writeFiles } from '../harness/synthetic-backups.js';

const at = (hhmm: string): Date => new Date(`2026-11-25T${hhmm}:00Z`);

describe("locateBackup({ kind: 'before' })", () => {
  let root: string;
  let verifier: ManifestVerifier;
  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-before-'));
    const good = await syntheticBackups('p', 'app', [at('01:00'), at('02:00'), at('03:00')]);
    writeFiles(root, objectsOf(good));
    // Planted at 02:30: its authenticator is another manifest's.
    const [planted] = await syntheticBackups('p', 'app', [at('02:30')]);
    if (!planted) throw new Error('no backup');
    writeFiles(root, objectsOf([{ ...planted, authenticator: (good[0] as typeof planted).authenticator }]));
    verifier = (await manifestVerifier({ passphrases: [TEST_AUTH_PASSPHRASE] })) as ManifestVerifier;
  });
  afterAll(async () => {
    await verifier?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const locate = (time: Date) =>
    locateBackup(new LocalStorage(root), 'p', { kind: 'before', time, name: 'app' }, { verifier });

  it.each([
    ['03:17', '03:00'],
    ['03:00', '02:00'], // strictly before: the 03:00 backup is not before 03:00
    ['02:59', '02:00'],
    ['02:00', '01:00'],
  ])('before %s → the %s backup', async (cutoff, expected) => {
    const b = await locate(at(cutoff));
    expect(b.manifest.createdAt).toBe(at(expected).toISOString());
  });

  it('names the newer unauthenticated manifest it skipped, and none after the cutoff', async () => {
    expect((await locate(at('02:59'))).skipped).toEqual([
      expect.stringMatching(/app-20261125T023000Z\.manifest\.json \(not authenticated: /),
    ]);
    expect((await locate(at('02:15'))).skipped).toEqual([]);
  });

  it('nothing before the time: a UserError naming the oldest backup', async () => {
    const err = await locate(at('00:30')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /no authenticated backup in .* was taken before 2026-11-25T00:30:00\.000Z; the oldest is from 2026-11-25T01:00:00\.000Z/,
    );
  });
});
