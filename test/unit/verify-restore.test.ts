/** Pure parts of verify and restore: table comparison, names, integrity verdicts, input validation. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readDecryption, readSelector } from '../../src/commands/inputs.js';
import { readRestoreConfig } from '../../src/commands/restore.js';
import { boundInputs } from '../../src/commands/schema.js';
import { readVerifyConfig, verifySpec } from '../../src/commands/verify.js';
import { compareTables } from '../../src/core/backups/load.js';
import { integrityProblem } from '../../src/core/backups/read.js';
import type { TableStats } from '../../src/core/manifest.js';
import {
  pgRestoreArgs,
  previousDatabaseName,
  scratchDatabaseName,
  utcStamp,
} from '../../src/core/postgres/restore-tools.js';

const t = (schema: string, name: string, rows: number, checksum: string): TableStats => ({
  schema,
  name,
  rows,
  checksum,
});
const getter =
  (inputs: Record<string, string>) =>
  (name: string): string =>
    inputs[name] ?? '';

describe('compareTables', () => {
  it.each([
    { title: 'identical', expected: [t('public', 'a', 2, '7')], actual: [t('public', 'a', 2, '7')], problems: [null] },
    {
      title: 'row count',
      expected: [t('public', 'a', 2, '7')],
      actual: [t('public', 'a', 3, '7')],
      problems: ['3 rows, expected 2'],
    },
    {
      title: 'contents',
      expected: [t('public', 'a', 2, '7')],
      actual: [t('public', 'a', 2, '8')],
      problems: ['same row count, different contents (checksum)'],
    },
    { title: 'missing', expected: [t('public', 'a', 2, '7')], actual: [], problems: ['missing'] },
    { title: 'unexpected', expected: [], actual: [t('x', 'b', 0, '0')], problems: ['not in the manifest'] },
    {
      title: 'same name, other schema',
      expected: [t('public', 'a', 1, '1')],
      actual: [t('other', 'a', 1, '1')],
      problems: ['missing', 'not in the manifest'],
    },
    {
      title: 'names that would collide if joined with a dot',
      expected: [t('a.b', 'c', 1, '1'), t('a', 'b.c', 2, '2')],
      actual: [t('a', 'b.c', 2, '2'), t('a.b', 'c', 1, '1')],
      problems: [null, null],
    },
  ])('$title', ({ expected, actual, problems }) => {
    expect(compareTables(expected, actual).map((c) => c.problem)).toEqual(problems);
  });

  it('reports expected and actual rows and whether the checksum matches', () => {
    expect(compareTables([t('s', 'x', 5, '1')], [t('s', 'x', 4, '2')])).toEqual([
      { schema: 's', name: 'x', expectedRows: 5, actualRows: 4, checksumOk: false, problem: '4 rows, expected 5' },
    ]);
  });
});

describe('database names', () => {
  const when = new Date('2026-11-25T19:24:44.123Z');
  it.each([
    ['verify', 'mydb', 'ab12cd', 'pgdr_verify_mydb_20261125_192444_ab12cd'],
    ['verify', 'my-db.prod', 'ab12cd', 'pgdr_verify_my_db_prod_20261125_192444_ab12cd'],
    ['restore', 'Ünïcode Name', '000000', 'pgdr_restore_n_code_name_20261125_192444_000000'],
    ['verify', 'x'.repeat(100), 'ffffff', `pgdr_verify_${'x'.repeat(28)}_20261125_192444_ffffff`],
  ])('scratchDatabaseName(%s, %s)', (purpose, name, rand, expected) => {
    expect(scratchDatabaseName(purpose, name, when, rand)).toBe(expected);
  });

  it('scratch names are always valid unquoted identifiers of at most 63 bytes', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.date({ min: new Date(0), max: new Date('9999-12-31'), noInvalidDate: true }),
        (name, date) => {
          const n = scratchDatabaseName('verify', name, date);
          expect(n).toMatch(/^pgdr_verify_[a-z0-9_]+_\d{8}_\d{6}_[0-9a-f]{6}$/);
          expect(Buffer.byteLength(n)).toBeLessThanOrEqual(63);
        },
      ),
    );
  });

  it.each([
    ['mydb', 'mydb_pre_restore_20261125_192444'],
    ['a'.repeat(63), `${'a'.repeat(35)}_pre_restore_20261125_192444`],
    ['日本語データベース名前', '日本語データベース名前_pre_restore_20261125_192444'],
    ['日'.repeat(20), `${'日'.repeat(11)}_pre_restore_20261125_192444`],
  ])('previousDatabaseName(%s)', (target, expected) => {
    const n = previousDatabaseName(target, when);
    expect(n).toBe(expected);
    expect(Buffer.byteLength(n)).toBeLessThanOrEqual(63);
  });

  it('utcStamp is UTC', () => {
    expect(utcStamp(new Date('2026-01-02T03:04:05+02:00'))).toBe('20260102_010405');
  });
});

describe('pgRestoreArgs', () => {
  it.each([
    [{ jobs: 1, portable: true }, ['--exit-on-error', '--no-password', '--no-owner', '--no-privileges']],
    [{ jobs: 4, portable: true }, ['--exit-on-error', '--no-password', '--no-owner', '--no-privileges']],
    [{ jobs: 1, portable: false, file: '/t/b.dump' }, ['--exit-on-error', '--no-password', '/t/b.dump']],
    [{ jobs: 4, portable: false, file: '/t/b.dump' }, ['--exit-on-error', '--no-password', '--jobs=4', '/t/b.dump']],
  ])('%o', (o, args) => {
    expect(pgRestoreArgs(o)).toEqual(args);
  });
});

describe('integrityProblem', () => {
  const expected = { size: 100, sha256: 'a'.repeat(64) };
  it.each([
    [{ bytes: 100, sha256: 'a'.repeat(64) }, null],
    [{ bytes: 60, sha256: 'b'.repeat(64) }, 'truncated'],
    [{ bytes: 101, sha256: 'b'.repeat(64) }, 'size'],
    [{ bytes: 100, sha256: 'b'.repeat(64) }, 'checksum'],
  ])('%o → %s', (actual, kind) => {
    expect(integrityProblem('obj', expected, actual)?.kind ?? null).toBe(kind);
  });

  it('says how much is missing from a truncated object', () => {
    expect(integrityProblem('obj', expected, { bytes: 40, sha256: '' })?.message).toBe(
      'truncated: obj holds 40 bytes, its manifest says 100 (60 B missing)',
    );
  });
});

describe('verify and restore inputs (checked before any I/O)', () => {
  it.each([
    [{}, { kind: 'latest', name: undefined }],
    [
      { backup: 'latest', name: 'db1' },
      { kind: 'latest', name: 'db1' },
    ],
    [
      { backup: 'p/db/2026/01/01/db-20260101T000000Z.sql.gz.gpg' },
      { kind: 'key', key: 'p/db/2026/01/01/db-20260101T000000Z.sql.gz.gpg' },
    ],
    [{ 'backup-file': './x.sql.gz.gpg' }, { kind: 'file', path: './x.sql.gz.gpg' }],
    [
      { backup: 'before:2026-11-25T03:17:00Z', name: 'app' },
      { kind: 'before', time: new Date('2026-11-25T03:17:00Z'), name: 'app' },
    ],
    [
      { backup: 'before:2026-11-25T03:17Z' },
      { kind: 'before', time: new Date('2026-11-25T03:17:00Z'), name: undefined },
    ],
    [
      { backup: 'before:2026-11-25T03:17:00.250Z' },
      { kind: 'before', time: new Date('2026-11-25T03:17:00.250Z'), name: undefined },
    ],
  ])('readSelector(%o)', (inputs, selector) => {
    expect(readSelector(boundInputs(verifySpec, getter(inputs)), getter(inputs)('backup-file'))).toEqual(selector);
  });

  it.each([
    [{ name: 'Bad Name' }, /'name' must match/],
    [{ backup: 'two words' }, /'backup' must be 'latest', 'before:<UTC time>' or an object key/],
    [{ backup: 'before:2026-11-25 03:17:00' }, /'backup': 'before:2026-11-25 03:17:00' needs a UTC time in ISO 8601/],
    [{ backup: 'before:2026-11-25T03:17:00+01:00' }, /needs a UTC time in ISO 8601, like before:2026-11-25T03:17:00Z/],
    [{ backup: 'before:2026-02-30T00:00:00Z' }, /needs a UTC time/],
    [{ backup: 'before:2026-11-25T24:00:00Z' }, /needs a UTC time/],
    [{ backup: 'before:' }, /needs a UTC time/],
    [{ backup: 'before:yesterday' }, /needs a UTC time/],
    [{ 'backup-file': 'x', backup: 'k' }, /either 'backup' or 'backup-file'/],
    [{ 'backup-file': 'x', destination: '/d' }, /either 'destination' or 'backup-file'/],
  ])('readSelector refuses %o', (inputs, message) => {
    expect(() => readSelector(boundInputs(verifySpec, getter(inputs)), getter(inputs)('backup-file'))).toThrow(message);
  });

  it.each([
    [{ 'encryption-private-key-passphrase': 'x' }, /'encryption-private-key' is not/],
    [{ 'encryption-private-key': 'ssh-rsa AAAA' }, /must be an ASCII-armored OpenPGP private key/],
  ])('readDecryption refuses %o', (inputs, message) => {
    expect(() => readDecryption(getter(inputs))).toThrow(message);
  });

  it.each([
    [{ 'max-age': '1 day' }, /'max-age' must be a duration/],
    [{ 'max-restore-time': '-1h' }, /'max-restore-time' must be a duration/],
    [{ jobs: '65' }, /'jobs' must be a whole number from 1 to 64/],
    [{ 'keep-database': 'maybe' }, /'keep-database' must be true or false/],
    [{ 'database-url': 'mysql://x' }, /'database-url' must start with postgres:\/\//],
  ])('readVerifyConfig refuses %o', (inputs, message) => {
    expect(() => readVerifyConfig(getter({ destination: '/tmp/d', ...inputs }))).toThrow(message);
  });

  it('readVerifyConfig applies the defaults', () => {
    const { config } = readVerifyConfig(getter({ destination: '/tmp/d', 'database-url': 'postgres://u@h/db' }));
    expect(config).toMatchObject({ jobs: 2, keepDatabase: false, maxAgeSeconds: 86400, maxRestoreSeconds: 14400 });
  });

  const target = {
    'database-url': 'postgres://u@h:5432/shop',
    destination: '/tmp/d',
    'encryption-passphrase': 'long enough pass',
  };
  it.each([
    [
      { ...target },
      /^'confirm' must be exactly the name of the database to replace \(the database in 'database-url'\): nothing was changed$/,
    ],
    // The expected name is not given away, nor the wrong guess echoed.
    [{ ...target, confirm: 'SHOP' }, /^(?!.*shop).*, and it is not: nothing was changed$/i],
    [
      { ...target, confirm: 'shop', 'database-url': 'postgres://u@h:5432/' },
      /'database-url' must name the target database/,
    ],
    [
      {
        ...target,
        confirm: 'shop',
        'encryption-passphrase': '',
        'encryption-private-key': '-----BEGIN PGP PRIVATE KEY BLOCK-----',
      },
      /the pre-restore backup of 'shop' needs encryption.*or set 'pre-restore-backup: false'/,
    ],
  ])('readRestoreConfig refuses %o', (inputs, message) => {
    expect(() => readRestoreConfig(getter(inputs))).toThrow(message);
  });

  it('readRestoreConfig: with pre-restore-backup false no encryption key for it is needed', () => {
    const { config } = readRestoreConfig(
      getter({
        ...target,
        confirm: 'shop',
        'encryption-passphrase': '',
        'encryption-private-key': '-----BEGIN PGP PRIVATE KEY BLOCK-----',
        'pre-restore-backup': 'false',
      }),
    );
    expect(config.preRestoreBackup).toBeNull();
    expect(config.connection.database).toBe('shop');
  });
});
