/**
 * Opening a node-postgres session the way libpq opens one for pg_dump and psql: the same sslmode, the
 * same certificate files, and libpq's fallbacks between TLS and plain (node-postgres has no 'prefer' or
 * 'allow': each attempt here is a fresh node-postgres connection, the next one made only after the
 * failures libpq itself retries on).
 */
import fs from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import {
  type Attempt,
  type AttemptFailure,
  connectAttempts,
  isUnixSocketHost,
  type SslSettings,
  type TlsFiles,
  type TlsPlan,
  TlsSetupError,
  tlsPlan,
} from './tls.js';

/** Everything needed to open sessions on one database; built once, used for every session. */
export interface SessionConfig {
  /** node-postgres settings but `ssl`, which each attempt sets. */
  client: Omit<pg.ClientConfig, 'ssl'>;
  ssl: SslSettings;
  attempts: Attempt[];
  /** The options of the encrypted attempts, or why libpq could not set TLS up (files). */
  tls: TlsPlan | TlsSetupError;
}

export const machineTlsFiles: TlsFiles = {
  home: (() => {
    try {
      return os.homedir() || undefined;
    } catch {
      return undefined;
    }
  })(),
  stat: (p) => fs.statSync(p, { throwIfNoEntry: false }),
  read: (p) => fs.readFileSync(p),
};

export function sessionConfig(
  client: Omit<pg.ClientConfig, 'ssl'>,
  ssl: SslSettings,
  files: TlsFiles = machineTlsFiles,
): SessionConfig {
  const attempts = connectAttempts(ssl.sslmode, isUnixSocketHost(client.host));
  let tls: TlsPlan | TlsSetupError = new TlsSetupError('TLS not used');
  if (attempts.some((a) => a.tls)) {
    try {
      tls = tlsPlan(ssl, files);
    } catch (err) {
      if (!(err instanceof TlsSetupError)) throw err;
      tls = err;
    }
  }
  return { client, ssl, attempts, tls };
}

interface Outcome {
  client?: pg.Client;
  failure?: AttemptFailure;
  error?: unknown;
}

/** The node-postgres Connection, whose protocol events tell how far an attempt got. */
interface PgConnectionEvents {
  once(event: string, listener: () => void): void;
  stream: { once(event: string, listener: () => void): void };
}

async function attempt(config: SessionConfig, tls: boolean): Promise<Outcome> {
  if (tls && config.tls instanceof TlsSetupError) return { failure: 'tls-failed', error: config.tls };
  const client = new pg.Client({
    ...config.client,
    ssl: tls ? (config.tls as TlsPlan).options : false,
  });
  client.on('error', () => {}); // surfaced by the next query
  // How far the attempt got, read when it fails (a record, so TypeScript does not narrow it away).
  const at: { phase: 'tcp' | 'handshake' | 'startup' | 'authenticated' } = { phase: 'tcp' };
  const con = (client as unknown as { connection: PgConnectionEvents }).connection;
  con.once('connect', () => {
    if (!tls) at.phase = 'startup';
  });
  con.once('sslconnect', () => {
    at.phase = 'handshake';
    con.stream.once('secureConnect', () => {
      at.phase = 'startup';
    });
  });
  con.once('authenticationOk', () => {
    at.phase = 'authenticated';
  });
  try {
    await client.connect();
    return { client };
  } catch (error) {
    await client.end().catch(() => {});
    const message = error instanceof Error ? error.message : '';
    let failure: AttemptFailure | undefined;
    if (at.phase === 'tcp' && tls && message === 'The server does not support SSL connections') failure = 'ssl-refused';
    else if (at.phase === 'handshake') failure = 'tls-failed';
    else if (at.phase === 'startup' && error instanceof pg.DatabaseError) failure = 'rejected';
    return { failure, error };
  }
}

/** A connection failure after libpq's attempts: every attempt's error, the last one as the cause. */
export class ConnectError extends Error {
  override name = 'ConnectError';
  /** The SQLSTATE of the last attempt's error, if the server sent one. */
  readonly code?: string;
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.code = (cause as { code?: string }).code;
  }
}

function describeAttempt(config: SessionConfig, tls: boolean, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!tls) return message;
  const plan = config.tls instanceof TlsSetupError ? undefined : config.tls;
  if (plan && (error as { code?: string }).code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `server certificate does not match host name "${config.client.host ?? 'localhost'}" (sslmode=verify-full): ${message}`;
  if (plan?.verifyChain && /certificate|self[- ]signed/i.test(message))
    return `SSL error: certificate verify failed against ${plan.rootCert === 'system' ? 'the system roots (sslrootcert=system)' : `root certificate file "${plan.rootCert}"`}: ${message}`;
  return message;
}

/** Opens a session as libpq would (sslmode, certificates, TLS ↔ plain fallbacks). */
export async function connectClient(config: SessionConfig): Promise<pg.Client> {
  const errors: Array<{ tls: boolean; text: string }> = [];
  let last: unknown;
  for (const a of config.attempts) {
    const outcome = await attempt(config, a.tls);
    if (outcome.client) return outcome.client;
    last = outcome.error;
    const moveOn = outcome.failure !== undefined && a.next.includes(outcome.failure);
    // libpq goes on in clear after an 'N' answer without reporting it; every other failure is told.
    if (!(moveOn && outcome.failure === 'ssl-refused')) {
      errors.push({ tls: a.tls, text: describeAttempt(config, a.tls, outcome.error) });
    }
    if (!moveOn) break;
  }
  const mode = config.ssl.sslmode;
  let hint = '';
  const code = (last as { code?: string }).code;
  if (code === '28000' && /no encryption/.test(String((last as Error).message)) && mode === 'disable')
    hint = `; the server accepts this connection only over TLS, which sslmode=disable (from 'database-url' or PGSSLMODE) forbids`;
  // A lone failure told as it came (a TlsSetupError, the server's own error) is thrown unchanged.
  if (errors.length === 1 && !hint && errors[0]?.text === (last as Error).message) throw last;
  // One failure reads as the server or TLS said it; several (libpq's retries) say which was which.
  const told =
    errors.length === 1
      ? (errors[0] as { text: string }).text
      : `${errors.map((e) => `${e.tls ? 'with TLS' : 'without TLS'}: ${e.text}`).join('; then ')} (sslmode=${mode})`;
  throw new ConnectError(`${told}${hint}`, last);
}
