/**
 * Key rotation: several passphrases / private keys, the one the manifest names is picked, a clear error
 * when none matches; and keyUsage grouping backups by the key they need.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { backupSpec } from '../../src/commands/backup.js';
import { boundInputs } from '../../src/commands/schema.js';
import { checkPrivateKeys, choosePassphrase, parsePassphrases } from '../../src/core/backups/decrypt.js';
import type { Backup } from '../../src/core/catalog.js';
import { keyUsage, UNIDENTIFIED_PASSPHRASE, UNKNOWN_PASSPHRASE } from '../../src/core/keys.js';
import { type Manifest, parseManifest } from '../../src/core/manifest.js';
import { passphraseFingerprint } from '../../src/core/pipeline/gpg.js';
import { IntegrityError, UserError } from '../../src/util/errors.js';
import { syntheticBackup } from '../harness/synthetic-backups.js';

const OLD = 'old passphrase 2025 winter';
const NEW = 'new passphrase 2026 spring';
const FPR_A = 'A'.repeat(40);
const FPR_B = 'B'.repeat(40);

async function backupWith(
  at: string,
  scheme: 'openpgp-passphrase' | 'openpgp-public-key' | 'none',
  fpr: string | null,
): Promise<Backup> {
  const s = await syntheticBackup('prod', 'shop', new Date(at));
  const manifest = parseManifest(s.manifest);
  manifest.encryption = { scheme, cipher: scheme === 'none' ? null : 'AES256', keyFingerprint: fpr };
  return {
    name: 'shop',
    manifest,
    manifestKey: s.manifestKey,
    data: { key: s.dataKey, size: s.body.length, lastModified: s.createdAt },
    createdAt: s.createdAt,
  };
}

describe('parsePassphrases', () => {
  it.each([
    ['', []],
    ['one passphrase here', ['one passphrase here']],
    ['first one here\nsecond one here', ['first one here', 'second one here']],
    ['  padded line  \r\n\r\n\nnext line here\n', ['padded line', 'next line here']],
  ] as const)('%j → %j', (text, expected) => {
    expect(parsePassphrases(text)).toEqual(expected);
  });
});

describe('choosePassphrase', () => {
  it('picks the passphrase whose PBKDF2 digest the manifest records, wherever it is in the list', async () => {
    const m = (await backupWith('2026-01-01T00:00:00Z', 'openpgp-passphrase', await passphraseFingerprint(OLD)))
      .manifest;
    await expect(choosePassphrase(m, [NEW, OLD])).resolves.toBe(OLD);
    await expect(choosePassphrase(m, [OLD, NEW])).resolves.toBe(OLD);
  });

  it('says none matches when several are given and none is the one', async () => {
    const m = (await backupWith('2026-01-01T00:00:00Z', 'openpgp-passphrase', await passphraseFingerprint(OLD)))
      .manifest;
    const err = await choosePassphrase(m, [NEW, 'a third passphrase']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as IntegrityError).kind).toBe('wrong-key');
    expect((err as Error).message).toMatch(
      /^wrong key: the backup was encrypted with a passphrase \(pbkdf2-sha256:600000 digest in the manifest\); none of the 2 passphrases in 'encryption-passphrase' matches$/,
    );
  });

  it('keeps the single-passphrase message', async () => {
    const m = (await backupWith('2026-01-01T00:00:00Z', 'openpgp-passphrase', await passphraseFingerprint(OLD)))
      .manifest;
    await expect(choosePassphrase(m, [NEW])).rejects.toThrow(
      /^wrong key: 'encryption-passphrase' is not the passphrase this backup was encrypted with$/,
    );
  });

  it('without a digest in the manifest, takes a single passphrase and refuses to guess among several', async () => {
    const m = (await backupWith('2026-01-01T00:00:00Z', 'openpgp-passphrase', null)).manifest;
    await expect(choosePassphrase(m, [NEW])).resolves.toBe(NEW);
    await expect(choosePassphrase(m, [NEW, OLD])).rejects.toThrow(UserError);
    await expect(choosePassphrase(m, [])).rejects.toThrow(/set 'encryption-passphrase'/);
  });
});

describe('checkPrivateKeys', () => {
  let m: Manifest;
  beforeAll(async () => {
    m = (await backupWith('2026-01-01T00:00:00Z', 'openpgp-public-key', FPR_A)).manifest;
  });
  it.each([
    [[FPR_A], true],
    [[FPR_B, FPR_A], true],
    [[FPR_B], false],
    [[], false],
  ])('imported %j → ok %s', (imported, ok) => {
    if (ok) expect(() => checkPrivateKeys(m, imported)).not.toThrow();
    else {
      expect(() => checkPrivateKeys(m, imported)).toThrow(
        new RegExp(`^wrong key: this backup was encrypted to ${FPR_A}, but .*; none of the given keys matches$`),
      );
    }
  });
});

describe('keyUsage', () => {
  it('groups backups by key with count, oldest, newest and the newest as example; newest-used key first', async () => {
    const backups = await Promise.all([
      backupWith('2026-03-01T00:00:00Z', 'openpgp-public-key', FPR_B),
      backupWith('2026-01-02T00:00:00Z', 'openpgp-public-key', FPR_A),
      backupWith('2026-02-01T00:00:00Z', 'openpgp-public-key', FPR_B),
      backupWith('2026-01-01T00:00:00Z', 'openpgp-public-key', FPR_A),
      backupWith('2026-01-03T00:00:00Z', 'openpgp-public-key', FPR_A),
      backupWith('2025-12-01T00:00:00Z', 'none', null),
    ]);
    const usage = await keyUsage(backups, { passphrases: [], privateKeyFingerprints: [FPR_B] });
    expect(usage.map((u) => [u.key, u.count, u.oldest, u.newest, u.available])).toEqual([
      [FPR_B, 2, '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', true],
      [FPR_A, 3, '2026-01-01T00:00:00.000Z', '2026-01-03T00:00:00.000Z', false],
      ['none (unencrypted)', 1, '2025-12-01T00:00:00.000Z', '2025-12-01T00:00:00.000Z', undefined],
    ]);
    expect(usage[1]?.example).toBe(backups[4]?.data.key);
  });

  it('tells passphrase backups apart only with the passphrases (digests are salted per backup)', async () => {
    const backups = await Promise.all([
      backupWith('2026-01-01T00:00:00Z', 'openpgp-passphrase', await passphraseFingerprint(OLD)),
      backupWith('2026-02-01T00:00:00Z', 'openpgp-passphrase', await passphraseFingerprint(OLD)),
      backupWith('2026-03-01T00:00:00Z', 'openpgp-passphrase', await passphraseFingerprint(NEW)),
      backupWith('2026-04-01T00:00:00Z', 'openpgp-passphrase', await passphraseFingerprint('lost passphrase xyz')),
    ]);
    const blind = await keyUsage(backups);
    expect(blind.map((u) => [u.key, u.count])).toEqual([[UNIDENTIFIED_PASSPHRASE, 4]]);
    const seen = await keyUsage(backups, { passphrases: [NEW, OLD], privateKeyFingerprints: [] });
    expect(seen.map((u) => [u.key, u.count, u.available])).toEqual([
      [UNKNOWN_PASSPHRASE, 1, false],
      ['passphrase #1', 1, true],
      ['passphrase #2', 2, true],
    ]);
  });
});

describe('readEncryption (backup takes one key; restore’s pre-restore backup the first of a rotation list)', () => {
  // Bound to the command's schema, as the hosts do: defaults applied, undeclared names refused.
  const get = (o: Record<string, string>) => boundInputs(backupSpec, (n: string) => o[n] ?? '');
  it('backup refuses several passphrases', async () => {
    const { readEncryption } = await import('../../src/commands/inputs.js');
    expect(() => readEncryption(get({ 'encryption-passphrase': `${NEW}\n${OLD}` }))).toThrow(
      /'encryption-passphrase' must be a single line/,
    );
  });
  it('the pre-restore backup encrypts with the first (current) passphrase', async () => {
    const { readEncryption } = await import('../../src/commands/inputs.js');
    expect(readEncryption(get({ 'encryption-passphrase': `${NEW}\n${OLD}` }), 'first')).toEqual({
      kind: 'passphrase',
      passphrase: NEW,
    });
  });
});
