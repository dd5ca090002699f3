/**
 * TLS as libpq does it, against a real server with ssl=on: a throwaway cluster with a CA and a server
 * certificate made by openssl here, one role accepted only over TLS (hostssl; hostnossl rejects it) and
 * one only without. For each sslmode case, our node-postgres session and psql (libpq, given our child
 * environment) must agree on connecting or not and on encryption (pg_stat_ssl). Then the bundled backup
 * and verify actions run end to end as the TLS-only role with no sslmode in the URL. The run's own
 * cluster (ssl off) covers prefer falling back to plain.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, type PgConnection, parseDatabaseUrl, pgSessionConfig } from '../../src/core/postgres/connection.js';
import { connectClient } from '../../src/core/postgres/session.js';
import { runAction } from '../harness/action.js';
import { clientBin, pgUrl, psqlOn } from '../harness/context.js';
import { type PgServer, startPostgres } from '../harness/postgres.js';

const TLS_PASSWORD = 'tls pa55 word';
const PLAIN_PASSWORD = 'plain pa55 word';
const isRoot = process.getuid?.() === 0;

let server: PgServer | undefined;
let certDir = '';
let workDir = '';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: certDir, stdio: 'pipe' });
}

/** A CA (and another, unrelated one) and a server certificate for IP 127.0.0.1 signed by the first. */
function makeCertificates(): void {
  for (const ca of ['ca', 'other-ca']) {
    openssl(
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=pgdr ${ca}`].concat([
        '-keyout',
        `${ca}.key`,
        '-out',
        `${ca}.crt`,
      ]),
    );
  }
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=pgdr-test-server',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  ]);
  fs.writeFileSync(path.join(certDir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2'].concat([
      '-extfile',
      'ext.cnf',
      '-out',
      'server.crt',
    ]),
  );
  fs.chmodSync(path.join(certDir, 'server.key'), 0o600);
  if (isRoot) execFileSync('chown', ['-R', 'postgres:postgres', certDir]);
}

function superuserSql(sql: string): string {
  return psqlOn(server as PgServer, 'postgres', sql);
}

function url(user: 'tls_only' | 'plain_only', query = '', host = '127.0.0.1'): string {
  const s = server as PgServer;
  const password = user === 'tls_only' ? TLS_PASSWORD : PLAIN_PASSWORD;
  return `postgres://${user}:${encodeURIComponent(password)}@${host}:${s.port}/tlsdb${query ? `?${query}` : ''}`;
}

const ENCRYPTED = 'SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()';

type Outcome = { ok: true; ssl: boolean } | { ok: false; error: string };

async function nodeSession(conn: PgConnection): Promise<Outcome> {
  try {
    const client = await connectClient(pgSessionConfig(conn));
    try {
      const r = await client.query<{ ssl: boolean }>(ENCRYPTED);
      return { ok: true, ssl: r.rows[0]?.ssl === true };
    } finally {
      await client.end();
    }
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function libpqSession(conn: PgConnection): Outcome {
  const r = spawnSync(clientBin('psql'), ['-X', '-At', '-c', ENCRYPTED], {
    env: childEnv(conn),
    encoding: 'utf8',
  });
  if (r.status !== 0) return { ok: false, error: r.stderr };
  return { ok: true, ssl: r.stdout.trim() === 't' };
}

beforeAll(async () => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-tls-certs-'));
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-tls-work-'));
  try {
    makeCertificates();
    server = await startPostgres({
      settings: {
        ssl: 'on',
        ssl_cert_file: `'${path.join(certDir, 'server.crt')}'`,
        ssl_key_file: `'${path.join(certDir, 'server.key')}'`,
      },
    });
    const hba = path.join(server.dataDir, 'pg_hba.conf');
    fs.writeFileSync(
      hba,
      [
        'hostssl all tls_only 127.0.0.1/32 scram-sha-256',
        'hostnossl all tls_only 127.0.0.1/32 reject',
        'hostnossl all plain_only 127.0.0.1/32 scram-sha-256',
        'hostssl all plain_only 127.0.0.1/32 reject',
        fs.readFileSync(hba, 'utf8'),
      ].join('\n'),
    );
    superuserSql(
      `CREATE ROLE tls_only LOGIN CREATEDB PASSWORD '${TLS_PASSWORD}';
       CREATE ROLE plain_only LOGIN PASSWORD '${PLAIN_PASSWORD}';
       CREATE DATABASE tlsdb OWNER tls_only;
       SELECT pg_reload_conf();`,
    );
  } catch (err) {
    server?.stop();
    throw err;
  }
}, 120_000);

afterAll(() => {
  server?.stop();
  fs.rmSync(certDir, { recursive: true, force: true });
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('node-postgres sessions follow libpq sslmode (ssl=on server, hostssl-only role)', () => {
  const ca = (): string => path.join(certDir, 'ca.crt');
  const otherCa = (): string => path.join(certDir, 'other-ca.crt');
  const cases: Array<[string, () => string, Outcome | RegExp]> = [
    ['no sslmode (prefer): TLS', () => url('tls_only'), { ok: true, ssl: true }],
    ['prefer, role accepted only without TLS: falls back to plain', () => url('plain_only'), { ok: true, ssl: false }],
    ['allow, TLS-only role: plain rejected, then TLS', () => url('tls_only', 'sslmode=allow'), { ok: true, ssl: true }],
    ['allow, plain role: plain', () => url('plain_only', 'sslmode=allow'), { ok: true, ssl: false }],
    [
      'disable against hostssl: fails',
      () => url('tls_only', 'sslmode=disable'),
      /only over TLS, which sslmode=disable/,
    ],
    [
      'require, plain-only role: fails (no plain retry)',
      () => url('plain_only', 'sslmode=require'),
      /^pg_hba\.conf rejects connection .*SSL encryption$/,
    ],
    [
      'require without a root file: encrypted, unverified',
      () => url('tls_only', 'sslmode=require'),
      { ok: true, ssl: true },
    ],
    [
      'require with the right CA',
      () => url('tls_only', `sslmode=require&sslrootcert=${ca()}`),
      { ok: true, ssl: true },
    ],
    [
      'require with a wrong CA as sslrootcert: verified like verify-ca, fails',
      () => url('tls_only', `sslmode=require&sslrootcert=${otherCa()}`),
      /certificate verify failed against root certificate file ".*other-ca\.crt"/,
    ],
    [
      'prefer with a wrong CA: the failed handshake falls back to plain',
      () => url('plain_only', `sslmode=prefer&sslrootcert=${otherCa()}`),
      { ok: true, ssl: false },
    ],
    [
      'prefer with a wrong CA, TLS-only role: both attempts fail, both told',
      () => url('tls_only', `sslmode=prefer&sslrootcert=${otherCa()}`),
      /^with TLS: SSL error: certificate verify failed.*; then without TLS: pg_hba\.conf rejects .*no encryption \(sslmode=prefer\)$/,
    ],
    [
      'verify-ca ignores the host name',
      () => url('tls_only', `sslmode=verify-ca&sslrootcert=${ca()}`, 'localhost'),
      { ok: true, ssl: true },
    ],
    [
      'verify-full, matching IP',
      () => url('tls_only', `sslmode=verify-full&sslrootcert=${ca()}`),
      { ok: true, ssl: true },
    ],
    [
      'verify-full with a wrong host name: fails',
      () => url('tls_only', `sslmode=verify-full&sslrootcert=${ca()}`, 'localhost'),
      /does not match host name "localhost"/,
    ],
    [
      'verify-full with a missing root file: fails before connecting',
      () => url('tls_only', `sslmode=verify-full&sslrootcert=${path.join(certDir, 'absent.crt')}`),
      /root certificate file ".*absent\.crt" does not exist/,
    ],
  ];
  it.each(cases)('%s — and libpq agrees', async (_name, makeUrl, expected) => {
    const conn = parseDatabaseUrl(makeUrl());
    const ours = await nodeSession(conn);
    const libpq = libpqSession(conn);
    if (expected instanceof RegExp) {
      expect(ours.ok).toBe(false);
      expect((ours as { error: string }).error).toMatch(expected);
      expect(ours).not.toHaveProperty('error', expect.stringContaining(TLS_PASSWORD));
    } else expect(ours).toEqual(expected);
    expect(libpq.ok).toBe(ours.ok);
    if (ours.ok && libpq.ok) expect(libpq.ssl).toBe(ours.ssl);
  });

  it('takes sslmode and sslrootcert from PGSSLMODE / PGSSLROOTCERT when the URL omits them', async () => {
    const saved = { mode: process.env.PGSSLMODE, root: process.env.PGSSLROOTCERT };
    try {
      process.env.PGSSLMODE = 'require';
      process.env.PGSSLROOTCERT = otherCa();
      const conn = parseDatabaseUrl(url('tls_only'));
      const ours = await nodeSession(conn);
      expect(ours).toMatchObject({ ok: false, error: expect.stringMatching(/other-ca\.crt/) });
      expect(libpqSession(conn).ok).toBe(false);
      // The URL's own sslmode wins over PGSSLMODE (verify-ca still reads PGSSLROOTCERT).
      process.env.PGSSLROOTCERT = ca();
      const urlWins = parseDatabaseUrl(url('tls_only', 'sslmode=verify-ca'));
      expect(await nodeSession(urlWins)).toEqual({ ok: true, ssl: true });
      expect(libpqSession(urlWins)).toEqual({ ok: true, ssl: true });
    } finally {
      for (const [k, v] of [
        ['PGSSLMODE', saved.mode],
        ['PGSSLROOTCERT', saved.root],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('a server without TLS (ssl=off: the run’s cluster)', () => {
  it('prefer connects plain; require fails as libpq does', async () => {
    const prefer = parseDatabaseUrl(pgUrl('postgres'));
    expect(await nodeSession(prefer)).toEqual({ ok: true, ssl: false });
    expect(libpqSession(prefer)).toEqual({ ok: true, ssl: false });
    const require = parseDatabaseUrl(`${pgUrl('postgres')}?sslmode=require`);
    expect(await nodeSession(require)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/does not support SSL/),
    });
    expect(libpqSession(require).ok).toBe(false);
  });
});

describe('backup and verify (bundled) as a TLS-only role with no sslmode in the URL', () => {
  it('dumps and reads every row back over TLS', async () => {
    const s = server as PgServer;
    execFileSync(clientBin('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url('tls_only')], {
      input: `CREATE TABLE t (id int PRIMARY KEY, v text);
              INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;`,
    });
    const dest = path.join(workDir, 'backups');
    const backup = await runAction('backup', {
      'database-url': url('tls_only'),
      destination: dest,
      name: 'tlsdb',
      'encryption-passphrase': 'tls-test-passphrase',
      'pg-bin-dir': s.binDir,
    });
    expect(backup.errors).toEqual([]);
    expect(backup.status).toBe(0);
    const verify = await runAction('verify', {
      'database-url': url('tls_only'),
      destination: dest,
      name: 'tlsdb',
      'encryption-passphrase': 'tls-test-passphrase',
      'pg-bin-dir': s.binDir,
    });
    expect(verify.errors).toEqual([]);
    expect(verify.outputs.result).toBe('passed');
    // Every session the two actions opened as tls_only was encrypted (the server logs none in clear:
    // hostnossl rejects the role, so a plain session could not have worked at all).
    expect(`${backup.visible}${verify.visible}`).not.toContain(TLS_PASSWORD);
  }, 180_000);
});
