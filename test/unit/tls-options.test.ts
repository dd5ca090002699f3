/**
 * libpq's TLS rules as the node-postgres sessions apply them: which settings are in effect (URL, then
 * PGSSL* environment, then defaults), which attempts each sslmode makes and on which failures it moves
 * on, what an encrypted attempt verifies given the certificate files present, and that pg_dump/psql get
 * the same settings through their environment.
 */
import type { Stats } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { libpqEnv, parseDatabaseUrl } from '../../src/core/postgres/connection.js';
import { sessionConfig } from '../../src/core/postgres/session.js';
import {
  type Attempt,
  connectAttempts,
  type SslMode,
  type SslSettings,
  sslSettings,
  type TlsFiles,
  TlsSetupError,
  tlsPlan,
} from '../../src/core/postgres/tls.js';
import { UserError } from '../../src/util/errors.js';

describe('sslSettings: URL parameters, else PGSSL* variables, else defaults', () => {
  const table: Array<[string, Record<string, string>, NodeJS.ProcessEnv, SslSettings | RegExp]> = [
    ['nothing set: prefer', {}, {}, { sslmode: 'prefer' }],
    ['URL sslmode', { sslmode: 'require' }, {}, { sslmode: 'require' }],
    ['PGSSLMODE when the URL omits it', {}, { PGSSLMODE: 'verify-ca' }, { sslmode: 'verify-ca' }],
    ['the URL wins over PGSSLMODE', { sslmode: 'disable' }, { PGSSLMODE: 'verify-full' }, { sslmode: 'disable' }],
    [
      'certificate files from the environment',
      { sslmode: 'verify-full' },
      { PGSSLROOTCERT: '/ca.crt', PGSSLCERT: '/c.crt', PGSSLKEY: '/c.key', PGSSLCRL: '/r.crl' },
      { sslmode: 'verify-full', sslrootcert: '/ca.crt', sslcert: '/c.crt', sslkey: '/c.key', sslcrl: '/r.crl' },
    ],
    [
      'URL file over the environment one',
      { sslrootcert: '/url.crt' },
      { PGSSLROOTCERT: '/env.crt' },
      { sslmode: 'prefer', sslrootcert: '/url.crt' },
    ],
    ['empty PGSSLMODE is unset', {}, { PGSSLMODE: '' }, { sslmode: 'prefer' }],
    [
      'sslrootcert=system defaults to verify-full',
      { sslrootcert: 'system' },
      {},
      { sslmode: 'verify-full', sslrootcert: 'system' },
    ],
    [
      'sslrootcert=system with a weaker mode',
      { sslrootcert: 'system', sslmode: 'require' },
      {},
      /too weak.*verify-full/,
    ],
    [
      'unknown mode in the URL',
      { sslmode: 'no-verify' },
      {},
      /'database-url' \(sslmode\): invalid sslmode 'no-verify'/,
    ],
    ['unknown mode in PGSSLMODE', {}, { PGSSLMODE: 'on' }, /PGSSLMODE: invalid sslmode 'on'/],
  ];
  it.each(table)('%s', (_name, params, env, expected) => {
    if (expected instanceof RegExp) {
      expect(() => sslSettings(params, env)).toThrow(UserError);
      expect(() => sslSettings(params, env)).toThrow(expected);
    } else expect(sslSettings(params, env)).toEqual(expected);
  });
});

describe('connectAttempts: libpq order and fallbacks', () => {
  const table: Array<[SslMode, boolean, Attempt[]]> = [
    ['disable', false, [{ tls: false, next: [] }]],
    [
      'allow',
      false,
      [
        { tls: false, next: ['rejected'] },
        { tls: true, next: ['ssl-refused'] },
        { tls: false, next: [] },
      ],
    ],
    [
      'prefer',
      false,
      [
        { tls: true, next: ['ssl-refused', 'tls-failed', 'rejected'] },
        { tls: false, next: [] },
      ],
    ],
    ['require', false, [{ tls: true, next: [] }]],
    ['verify-ca', false, [{ tls: true, next: [] }]],
    ['verify-full', false, [{ tls: true, next: [] }]],
    ['verify-full', true, [{ tls: false, next: [] }]],
    ['prefer', true, [{ tls: false, next: [] }]],
  ];
  it.each(table)('%s (Unix socket: %s)', (mode, unix, expected) => {
    expect(connectAttempts(mode, unix)).toEqual(expected);
  });
});

/** A fake file system: path → mode (and owner). */
function files(present: Record<string, { mode?: number; uid?: number; dir?: boolean }>, home = '/home/u'): TlsFiles {
  return {
    home,
    stat: (p) => {
      const f = present[p];
      if (!f) return undefined;
      return { mode: 0o100000 | (f.mode ?? 0o600), uid: f.uid ?? 1000, isFile: () => !f.dir } as unknown as Stats;
    },
    read: (p) => Buffer.from(`contents of ${p}`),
  };
}

describe('tlsPlan: what an encrypted attempt verifies, as libpq sets up its context', () => {
  type Expect = { chain: boolean; host: boolean; ca?: string; cert?: string; key?: string; crl?: string } | RegExp;
  const HOME_ROOT = '/home/u/.postgresql/root.crt';
  const table: Array<[string, SslSettings, ReturnType<typeof files>, Expect]> = [
    ['require without a root file: encrypt only', { sslmode: 'require' }, files({}), { chain: false, host: false }],
    [
      'require with ~/.postgresql/root.crt: like verify-ca',
      { sslmode: 'require' },
      files({ [HOME_ROOT]: {} }),
      { chain: true, host: false, ca: HOME_ROOT },
    ],
    [
      'require with sslrootcert: like verify-ca',
      { sslmode: 'require', sslrootcert: '/ca.crt' },
      files({ '/ca.crt': {} }),
      { chain: true, host: false, ca: '/ca.crt' },
    ],
    [
      'require with a missing sslrootcert: no verification',
      { sslmode: 'require', sslrootcert: '/nope.crt' },
      files({}),
      { chain: false, host: false },
    ],
    [
      'prefer with a root file verifies too',
      { sslmode: 'prefer' },
      files({ [HOME_ROOT]: {} }),
      { chain: true, host: false, ca: HOME_ROOT },
    ],
    [
      'verify-ca: chain, not host',
      { sslmode: 'verify-ca', sslrootcert: '/ca.crt' },
      files({ '/ca.crt': {} }),
      { chain: true, host: false, ca: '/ca.crt' },
    ],
    [
      'verify-full: chain and host',
      { sslmode: 'verify-full', sslrootcert: '/ca.crt' },
      files({ '/ca.crt': {} }),
      { chain: true, host: true, ca: '/ca.crt' },
    ],
    [
      'verify-full with the default root file',
      { sslmode: 'verify-full' },
      files({ [HOME_ROOT]: {} }),
      { chain: true, host: true, ca: HOME_ROOT },
    ],
    [
      'verify-ca without a root file',
      { sslmode: 'verify-ca' },
      files({}),
      /root certificate file ".*root\.crt" does not exist/,
    ],
    [
      'verify-full with a missing sslrootcert',
      { sslmode: 'verify-full', sslrootcert: '/nope.crt' },
      files({}),
      /"\/nope\.crt" does not exist/,
    ],
    [
      'verify-full and no home directory',
      { sslmode: 'verify-full' },
      { ...files({}), home: undefined },
      /no home directory/,
    ],
    [
      'sslrootcert=system: the system roots',
      { sslmode: 'verify-full', sslrootcert: 'system' },
      files({}),
      { chain: true, host: true },
    ],
    [
      'a CRL next to the root file',
      { sslmode: 'verify-ca', sslrootcert: '/ca.crt', sslcrl: '/r.crl' },
      files({ '/ca.crt': {}, '/r.crl': {} }),
      { chain: true, host: false, ca: '/ca.crt', crl: '/r.crl' },
    ],
    [
      'client certificate and key from the URL',
      { sslmode: 'require', sslcert: '/c.crt', sslkey: '/c.key' },
      files({ '/c.crt': {}, '/c.key': { mode: 0o600 } }),
      { chain: false, host: false, cert: '/c.crt', key: '/c.key' },
    ],
    [
      'default client certificate in ~/.postgresql',
      { sslmode: 'require' },
      files({ '/home/u/.postgresql/postgresql.crt': {}, '/home/u/.postgresql/postgresql.key': {} }),
      {
        chain: false,
        host: false,
        cert: '/home/u/.postgresql/postgresql.crt',
        key: '/home/u/.postgresql/postgresql.key',
      },
    ],
    [
      'a missing client certificate is not an error',
      { sslmode: 'require', sslcert: '/none.crt', sslkey: '/c.key' },
      files({ '/c.key': {} }),
      { chain: false, host: false },
    ],
    [
      'certificate without its key',
      { sslmode: 'require', sslcert: '/c.crt', sslkey: '/c.key' },
      files({ '/c.crt': {} }),
      /certificate present, but not private key file "\/c\.key"/,
    ],
    [
      'a key others can read',
      { sslmode: 'require', sslcert: '/c.crt', sslkey: '/c.key' },
      files({ '/c.crt': {}, '/c.key': { mode: 0o644 } }),
      /group or world access/,
    ],
    [
      'a root-owned key readable by its group',
      { sslmode: 'require', sslcert: '/c.crt', sslkey: '/c.key' },
      files({ '/c.crt': {}, '/c.key': { mode: 0o640, uid: 0 } }),
      { chain: false, host: false, cert: '/c.crt', key: '/c.key' },
    ],
    [
      'a user-owned key readable by its group',
      { sslmode: 'require', sslcert: '/c.crt', sslkey: '/c.key' },
      files({ '/c.crt': {}, '/c.key': { mode: 0o640 } }),
      /group or world access/,
    ],
  ];
  it.each(table)('%s', (_name, settings, fs, expected) => {
    if (expected instanceof RegExp) {
      expect(() => tlsPlan(settings, fs)).toThrow(TlsSetupError);
      expect(() => tlsPlan(settings, fs)).toThrow(expected);
      return;
    }
    const plan = tlsPlan(settings, fs);
    expect(plan.verifyChain).toBe(expected.chain);
    expect(plan.options.rejectUnauthorized).toBe(expected.chain);
    expect(plan.verifyHost).toBe(expected.host);
    // Without host verification the identity check is switched off; with it, Node's own applies.
    expect(plan.options.checkServerIdentity === undefined).toBe(expected.host);
    const text = (v: unknown): string | undefined => (v === undefined ? undefined : String(v));
    expect(text(plan.options.ca)).toBe(expected.ca && `contents of ${expected.ca}`);
    expect(text(plan.options.cert)).toBe(expected.cert && `contents of ${expected.cert}`);
    expect(text(plan.options.key)).toBe(expected.key && `contents of ${expected.key}`);
    expect(text(plan.options.crl)).toBe(expected.crl && `contents of ${expected.crl}`);
  });
});

describe('sessionConfig: setup errors wait for the attempt that needs TLS', () => {
  it('keeps a missing verify-ca root as the TLS attempt’s failure instead of throwing', () => {
    const c = sessionConfig({ host: 'db' }, { sslmode: 'verify-ca' }, files({}));
    expect(c.tls).toBeInstanceOf(TlsSetupError);
  });
  it('reads no certificate file for sslmode=disable or a Unix socket', () => {
    const none: TlsFiles = {
      home: '/h',
      stat: () => {
        throw new Error('no file access expected');
      },
      read: () => {
        throw new Error('no file access expected');
      },
    };
    expect(sessionConfig({ host: 'db' }, { sslmode: 'disable' }, none).attempts).toEqual([{ tls: false, next: [] }]);
    expect(sessionConfig({ host: '/run/postgresql' }, { sslmode: 'verify-full' }, none).attempts).toEqual([
      { tls: false, next: [] },
    ]);
  });
});

describe('libpqEnv: pg_dump/psql get the settings the sessions use', () => {
  const table: Array<[string, string, NodeJS.ProcessEnv, Record<string, string | undefined>]> = [
    ['default prefer is written out', 'postgres://u@h/db', {}, { PGSSLMODE: 'prefer', PGSSLROOTCERT: undefined }],
    [
      'URL parameters',
      'postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.crt',
      {},
      { PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/ca.crt' },
    ],
    [
      'environment values the URL omits',
      'postgres://u@h/db?sslmode=require',
      { PGSSLMODE: 'disable', PGSSLROOTCERT: '/env-ca.crt', PGSSLCERT: '/c.crt', PGSSLKEY: '/c.key' },
      { PGSSLMODE: 'require', PGSSLROOTCERT: '/env-ca.crt', PGSSLCERT: '/c.crt', PGSSLKEY: '/c.key' },
    ],
  ];
  it.each(table)('%s', (_name, url, env, expected) => {
    const out = libpqEnv(parseDatabaseUrl(url), undefined, env);
    for (const [k, v] of Object.entries(expected)) expect(out[k]).toBe(v);
  });

  it('refuses a bad sslmode before any connection, naming the input', () => {
    expect(() => parseDatabaseUrl('postgres://u@h/db?sslmode=maybe')).toThrow(/'database-url' \(sslmode\)/);
  });

  it('keeps the password off every value but PGPASSWORD', () => {
    const out = libpqEnv(parseDatabaseUrl('postgres://u:s3cret@h/db?sslmode=require'), undefined, {});
    expect(Object.entries(out).filter(([, v]) => v.includes('s3cret'))).toEqual([['PGPASSWORD', 's3cret']]);
  });
});
