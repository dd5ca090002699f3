/**
 * A PostgreSQL connection from `database-url` (or the PG* environment), in the two forms we need:
 * libpq environment variables for child processes (so no password is ever on a command line) and a
 * node-postgres session config for our own sessions. Both carry the same TLS settings (sslSettings:
 * the URL's, else the PGSSL* variables', else libpq's defaults), so pg_dump and our sessions encrypt alike.
 */
import { UserError } from '../../util/errors.js';
import { registerSecret } from '../../util/secrets.js';
import { baseEnv } from '../pipeline/process.js';
import { type SessionConfig, sessionConfig } from './session.js';
import { SSL_PARAM_ENV, type SslSettings, sslSettings } from './tls.js';

export interface PgConnection {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** libpq parameters from the URL's query string (sslmode, sslrootcert, application_name, …). */
  params: Record<string, string>;
}

const PARAM_ENV: Record<string, string> = {
  ...SSL_PARAM_ENV,
  application_name: 'PGAPPNAME',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  channel_binding: 'PGCHANNELBINDING',
  gssencmode: 'PGGSSENCMODE',
  passfile: 'PGPASSFILE',
};

/** The PG* variables that say which server or database to reach; one of them makes '' a usable database-url. */
const PG_TARGET_VARIABLES = ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGSERVICE'];

/** Parses `postgres://user:pass@host:port/db?sslmode=require`; '' means "use the PG* environment". */
export function parseDatabaseUrl(value: string, input = 'database-url'): PgConnection {
  const v = value.trim();
  if (!v) {
    const env = process.env;
    // An unset secret reaches an action as an empty input: without any PG* variable libpq would try a
    // local socket and fail with "connection refused", naming neither the input nor the secret.
    if (!PG_TARGET_VARIABLES.some((name) => env[name])) {
      throw new UserError(
        `'${input}' is empty and no PG* variable (${PG_TARGET_VARIABLES.join(', ')}) is set: in a workflow, the secret ` +
          `passed as '${input}' (DATABASE_URL in the bundled workflows, RESTORE_DATABASE_URL for restore) is ` +
          'missing or empty — add it under Settings → Secrets and variables → Actions (or in the job’s environment); ' +
          `with the CLI, pass --${input} or set PGHOST/PGDATABASE`,
      );
    }
    registerSecret(env.PGPASSWORD);
    sslSettings({}, env, input); // a bad PGSSLMODE fails here, before any connection
    return {
      host: env.PGHOST,
      port: env.PGPORT ? Number(env.PGPORT) : undefined,
      user: env.PGUSER,
      password: env.PGPASSWORD,
      database: env.PGDATABASE,
      params: {},
    };
  }
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new UserError(`'${input}' must be a URL like postgres://user@host:5432/dbname`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UserError(`'${input}' must start with postgres:// or postgresql:// (got '${url.protocol}//')`);
  }
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  registerSecret(password);
  registerSecret(url.password);
  const params: Record<string, string> = {};
  for (const [k, val] of url.searchParams) {
    if (k === 'host') continue;
    if (!(k in PARAM_ENV)) {
      throw new UserError(
        `'${input}': the parameter '${k}' is not supported (use one of ${Object.keys(PARAM_ENV).join(', ')})`,
      );
    }
    params[k] = val;
  }
  // postgres://user@/db?host=/var/run/postgresql selects a Unix socket directory.
  const host =
    url.searchParams.get('host') ??
    (url.hostname ? decodeURIComponent(url.hostname).replace(/^\[|\]$/g, '') : undefined);
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined;
  if (url.port && !/^\d+$/.test(url.port)) throw new UserError(`'${input}': port must be a number`);
  sslSettings(params, process.env, input);
  return {
    host,
    port: url.port ? Number(url.port) : undefined,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password,
    database,
    params,
  };
}

/** The TLS settings in effect: the URL's parameters, else the PGSSL* variables, else libpq's defaults. */
export function connectionSsl(conn: PgConnection, env: NodeJS.ProcessEnv = process.env): SslSettings {
  return sslSettings(conn.params, env);
}

/**
 * The connection as libpq environment variables, for pg_dump / psql / pg_restore. The TLS settings
 * are written out as resolved, so the tools use exactly what our own sessions use.
 */
export function libpqEnv(
  conn: PgConnection,
  database?: string,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (conn.host) out.PGHOST = conn.host;
  if (conn.port) out.PGPORT = String(conn.port);
  if (conn.user) out.PGUSER = conn.user;
  if (conn.password !== undefined) out.PGPASSWORD = conn.password;
  const db = database ?? conn.database;
  if (db) out.PGDATABASE = db;
  for (const [k, v] of Object.entries(conn.params)) out[PARAM_ENV[k] as string] = v;
  for (const [k, v] of Object.entries(connectionSsl(conn, env))) {
    if (v !== undefined) out[SSL_PARAM_ENV[k as keyof typeof SSL_PARAM_ENV]] = v;
  }
  return out;
}

/**
 * A PostgreSQL tool's environment: the minimal one every child gets (baseEnv: no INPUT_*, AWS_*, tokens),
 * the parent's PG* variables unless the connection was given explicitly (they could point libpq
 * elsewhere; PGPASSFILE stays), then the connection's own.
 */
export function childEnv(conn: PgConnection, database?: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = baseEnv();
  const explicit = conn.host !== undefined || conn.params.sslmode !== undefined;
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('PG') || (explicit && k !== 'PGPASSFILE')) continue;
    base[k] = v;
  }
  return { ...base, ...libpqEnv(conn, database), ...extra };
}

/** Our own sessions on `database` (default: the URL's), with the TLS settings the tools get. */
export function pgSessionConfig(conn: PgConnection, database?: string): SessionConfig {
  return sessionConfig(
    {
      host: conn.host,
      port: conn.port,
      user: conn.user,
      password: conn.password,
      database: database ?? conn.database,
      application_name: conn.params.application_name ?? 'postgres-dr',
      connectionTimeoutMillis: conn.params.connect_timeout ? Number(conn.params.connect_timeout) * 1000 : 30_000,
    },
    connectionSsl(conn),
  );
}

/** host:port/db, for logs: never the password. */
export function describeConnection(conn: PgConnection, database?: string): string {
  return `${conn.user ?? process.env.USER ?? '?'}@${conn.host ?? 'localhost'}:${conn.port ?? 5432}/${database ?? conn.database ?? conn.user ?? '?'}`;
}
