/**
 * libpq's TLS rules, for our node-postgres sessions: which sslmode applies (URL, then PGSSL* environment,
 * then 'prefer'), which attempts it makes in which order and on which failure it moves to the next one
 * (fe-connect.c), and the TLS options of an encrypted attempt (initialize_SSL in fe-secure-openssl.c:
 * a root certificate file that exists turns chain verification on whatever the sslmode, verify-* without
 * one is an error, a client certificate needs its key, a key readable by others is refused).
 */
import type { Stats } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { UserError } from '../../util/errors.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The libpq TLS parameters and the environment variable each falls back to when the URL omits it. */
export const SSL_PARAM_ENV = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
} as const;
type SslParam = keyof typeof SSL_PARAM_ENV;

export interface SslSettings {
  sslmode: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  sslcrl?: string;
}

/**
 * The effective TLS settings: each parameter from the URL, else from its PG* variable (as libpq reads
 * them), sslmode defaulting to 'prefer' — or to 'verify-full' with sslrootcert=system, which allows no
 * weaker mode (libpq 16+).
 */
export function sslSettings(
  params: Record<string, string>,
  env: NodeJS.ProcessEnv,
  input = 'database-url',
): SslSettings {
  const pick = (k: SslParam): { value?: string; from: string } => {
    if (params[k] !== undefined && params[k] !== '') return { value: params[k], from: `'${input}' (${k})` };
    const e = env[SSL_PARAM_ENV[k]];
    return e ? { value: e, from: SSL_PARAM_ENV[k] } : { from: `'${input}' (${k})` };
  };
  const root = pick('sslrootcert');
  const mode = pick('sslmode');
  const system = root.value === 'system';
  const sslmode = mode.value ?? (system ? 'verify-full' : 'prefer');
  if (!(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new UserError(`${mode.from}: invalid sslmode '${sslmode}' (use one of ${SSL_MODES.join(', ')})`);
  }
  if (system && sslmode !== 'verify-full') {
    throw new UserError(
      `${mode.from}: sslmode '${sslmode}' is too weak for sslrootcert=system (use verify-full, as libpq requires)`,
    );
  }
  const out: SslSettings = { sslmode: sslmode as SslMode };
  for (const k of ['sslrootcert', 'sslcert', 'sslkey', 'sslcrl'] as const) {
    const v = pick(k).value;
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Why an attempt failed, as far as the fallback cares. */
export type AttemptFailure =
  /** The server answered the SSLRequest with 'N'. */
  | 'ssl-refused'
  /** The TLS handshake (or setting it up: certificate files) failed. */
  | 'tls-failed'
  /** The server sent an ErrorResponse before AuthenticationOk (pg_hba reject, failed authentication). */
  | 'rejected';

export interface Attempt {
  tls: boolean;
  /** The failures after which the next attempt is made; any other failure ends the connection try. */
  next: AttemptFailure[];
}

/**
 * libpq's attempts per sslmode. prefer: TLS, then plain after an 'N' answer, a failed handshake or an
 * error before authentication completed. allow: plain, then TLS after such an error (and plain again if
 * that TLS request is answered 'N'). Over a Unix-domain socket libpq never requests TLS.
 */
export function connectAttempts(mode: SslMode, unixSocket: boolean): Attempt[] {
  if (unixSocket || mode === 'disable') return [{ tls: false, next: [] }];
  if (mode === 'allow') {
    return [
      { tls: false, next: ['rejected'] },
      { tls: true, next: ['ssl-refused'] },
      { tls: false, next: [] },
    ];
  }
  if (mode === 'prefer') {
    return [
      { tls: true, next: ['ssl-refused', 'tls-failed', 'rejected'] },
      { tls: false, next: [] },
    ];
  }
  return [{ tls: true, next: [] }];
}

/** libpq's sockets: an absolute path or an abstract-namespace '@name'. */
export function isUnixSocketHost(host: string | undefined): boolean {
  return host !== undefined && (host.startsWith('/') || host.startsWith('@'));
}

/** What tlsOptions needs from the machine, injectable for tests. */
export interface TlsFiles {
  /** libpq's home directory (~/.postgresql/… defaults), undefined when unknown. */
  home: string | undefined;
  stat(path: string): Stats | undefined;
  read(path: string): Buffer;
}

const ROOT_CERT_FILE = '.postgresql/root.crt';
const ROOT_CRL_FILE = '.postgresql/root.crl';
const USER_CERT_FILE = '.postgresql/postgresql.crt';
const USER_KEY_FILE = '.postgresql/postgresql.key';

/** Thrown for a TLS setup problem (a missing root certificate under verify-*, a bad key file). */
export class TlsSetupError extends UserError {}

/** What a TLS attempt verifies, for messages and tests. */
export interface TlsPlan {
  options: ConnectionOptions;
  verifyChain: boolean;
  verifyHost: boolean;
  rootCert?: string;
  clientCert?: string;
}

/**
 * The node TLS options of an encrypted attempt, set up as libpq sets up its SSL context. Throws
 * TlsSetupError where libpq's initialize_SSL fails.
 */
export function tlsPlan(s: SslSettings, files: TlsFiles): TlsPlan {
  const inHome = (f: string): string | undefined => (files.home ? `${files.home}/${f}` : undefined);
  const options: ConnectionOptions = {};
  let verifyChain = false;
  let rootCert: string | undefined;

  const root = s.sslrootcert ?? inHome(ROOT_CERT_FILE);
  if (root === 'system') {
    verifyChain = true; // Node's bundled roots (plus NODE_EXTRA_CA_CERTS), as OpenSSL's default paths for libpq
    rootCert = 'system';
  } else if (root !== undefined && files.stat(root)) {
    verifyChain = true;
    rootCert = root;
    options.ca = files.read(root);
    const crl = s.sslcrl ?? inHome(ROOT_CRL_FILE);
    // Like libpq: a CRL is used when it can be read, silently skipped otherwise.
    if (crl && files.stat(crl)?.isFile()) options.crl = files.read(crl);
  } else if (s.sslmode === 'verify-ca' || s.sslmode === 'verify-full') {
    throw new TlsSetupError(
      root === undefined
        ? `sslmode=${s.sslmode} needs a root certificate, and no home directory is known to find ~/${ROOT_CERT_FILE}: give sslrootcert in 'database-url' (or PGSSLROOTCERT)`
        : `sslmode=${s.sslmode}: root certificate file "${root}" does not exist; give the CA file as sslrootcert in 'database-url' (or PGSSLROOTCERT), use sslrootcert=system, or choose an sslmode that does not verify the server`,
    );
  }
  options.rejectUnauthorized = verifyChain;
  const verifyHost = s.sslmode === 'verify-full';
  // The chain may be checked without the name (verify-ca, and require/prefer/allow with a root file).
  if (!verifyHost) options.checkServerIdentity = () => undefined;

  let clientCert: string | undefined;
  const cert = s.sslcert ?? inHome(USER_CERT_FILE);
  if (cert !== undefined && files.stat(cert)) {
    clientCert = cert;
    options.cert = files.read(cert);
    const key = s.sslkey ?? inHome(USER_KEY_FILE);
    const st = key === undefined ? undefined : files.stat(key);
    if (key === undefined || !st) {
      throw new TlsSetupError(`certificate present, but not private key file "${key ?? `~/${USER_KEY_FILE}`}"`);
    }
    if (!st.isFile()) throw new TlsSetupError(`private key file "${key}" is not a regular file`);
    // libpq's rule: 0600 or less, or 0640 or less when root owns the file.
    const tooOpen = st.uid === 0 ? st.mode & 0o037 : st.mode & 0o077;
    if (tooOpen) {
      throw new TlsSetupError(
        `private key file "${key}" has group or world access; it must have permissions u=rw (0600) or less if owned by the current user, or u=rw,g=r (0640) or less if owned by root`,
      );
    }
    options.key = files.read(key);
  }
  return { options, verifyChain, verifyHost, rootCert, clientCert };
}
