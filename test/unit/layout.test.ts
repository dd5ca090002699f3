import { describe, expect, it } from 'vitest';
import { dataKeyFor, extensionFor, manifestKeyFor, parseKey, validateName } from '../../src/core/layout.js';

const t = new Date('2026-03-09T04:05:06.789Z');

describe('object layout', () => {
  it.each([
    ['backups', 'db1', 'sql.gz.gpg', 'backups/db1/2026/03/09/db1-20260309T040506Z.sql.gz.gpg'],
    ['', 'db1', 'dump', 'db1/2026/03/09/db1-20260309T040506Z.dump'],
    ['/a/b/', 'x.y_z-1', 'sql', 'a/b/x.y_z-1/2026/03/09/x.y_z-1-20260309T040506Z.sql'],
  ] as const)('prefix %j, name %s, ext %s → %s', (prefix, name, ext, key) => {
    expect(dataKeyFor(prefix, name, t, ext)).toBe(key);
    const parsed = parseKey(key, prefix);
    expect(parsed).toMatchObject({ name, kind: 'data', ext, createdAt: new Date('2026-03-09T04:05:06Z') });
  });

  it('pairs a data object and its manifest by stem', () => {
    const d = parseKey(dataKeyFor('p', 'db', t, 'sql.zst.gpg'), 'p');
    const m = parseKey(manifestKeyFor('p', 'db', t), 'p');
    expect(m?.kind).toBe('manifest');
    expect(d?.stem).toBe(m?.stem);
  });

  it.each([
    ['other prefix', 'other/db1/2026/03/09/db1-20260309T040506Z.sql.gz', 'backups'],
    ['prefix that only starts alike', 'backups2/db1/2026/03/09/db1-20260309T040506Z.sql.gz', 'backups'],
    [
      'name mismatch between folder and file (db1 vs db10)',
      'backups/db1/2026/03/09/db10-20260309T040506Z.sql.gz',
      'backups',
    ],
    ['date folder disagrees with the stamp', 'backups/db1/2026/03/08/db1-20260309T040506Z.sql.gz', 'backups'],
    ['impossible date', 'backups/db1/2026/02/30/db1-20260230T040506Z.sql.gz', 'backups'],
    ['unknown extension', 'backups/db1/2026/03/09/db1-20260309T040506Z.tar', 'backups'],
    ['partial upload', 'backups/db1/2026/03/09/.db1-20260309T040506Z.sql.gz.123.partial', 'backups'],
    ['lock object', 'backups/db1/.lock', 'backups'],
    ['upper case name', 'backups/DB1/2026/03/09/DB1-20260309T040506Z.sql.gz', 'backups'],
  ])('ignores %s', (_why, key, prefix) => {
    expect(parseKey(key, prefix)).toBeNull();
  });

  it.each([
    ['plain', 'gzip', true, 'sql.gz.gpg'],
    ['plain', 'zstd', false, 'sql.zst'],
    ['plain', 'none', true, 'sql.gpg'],
    ['custom', 'gzip', true, 'dump.gpg'],
    ['custom', 'none', false, 'dump'],
  ] as const)('extension for %s/%s/encrypted=%s is %s', (format, compression, enc, ext) => {
    expect(extensionFor(format, compression, enc)).toBe(ext);
  });

  it.each(['', 'Upper', '-lead', 'sp ace', 'a/b', 'x'.repeat(101)])('rejects the name %j naming the input', (n) => {
    expect(() => validateName(n)).toThrow(/'name' must match/);
  });
});
