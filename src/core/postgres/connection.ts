/**
 * A PostgreSQL connection from `database-url` (or the PG* environment), in the two forms we need:
 * libpq environment variables for child processes (so no password is ever on a command line) and a
 * node-postgres config for our own control session.
 */
import fs from 'node:fs';
import type { ClientConfig } from 'pg';
import { UserError } from '../../util/errors.js';
import { registerSecret } from '../../util/secrets.js';
import { baseEnv } from '../pipeline/process.js';

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
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  application_name: 'PGAPPNAME',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  channel_binding: 'PGCHANNELBINDING',
  gssencmode: 'PGGSSENCMODE',
  passfile: 'PGPASSFILE',
};

/** Parses `postgres://user:pass@host:port/db?sslmode=require`; '' means "use the PG* environment". */
export function parseDatabaseUrl(value: string, input = 'database-url'): PgConnection {
  const v = value.trim();
  if (!v) {
    const env = process.env;
    registerSecret(env.PGPASSWORD);
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
  return {
    host,
    port: url.port ? Number(url.port) : undefined,
    user: url.username ? decodeURIComponent(url.username) : undefined,
    password,
    database,
    params,
  };
}

/** The connection as libpq environment variables, for pg_dump / psql / pg_restore. */
export function libpqEnv(conn: PgConnection, database?: string): Record<string, string> {
  const env: Record<string, string> = {};
  if (conn.host) env.PGHOST = conn.host;
  if (conn.port) env.PGPORT = String(conn.port);
  if (conn.user) env.PGUSER = conn.user;
  if (conn.password !== undefined) env.PGPASSWORD = conn.password;
  const db = database ?? conn.database;
  if (db) env.PGDATABASE = db;
  for (const [k, v] of Object.entries(conn.params)) env[PARAM_ENV[k] as string] = v;
  return env;
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

export function pgClientConfig(conn: PgConnection, database?: string): ClientConfig {
  const sslmode = conn.params.sslmode;
  let ssl: ClientConfig['ssl'];
  // 'prefer' and 'allow' connect without TLS here: node-postgres has no fallback mode.
  if (sslmode === 'require') ssl = { rejectUnauthorized: false };
  else if (sslmode === 'verify-ca' || sslmode === 'verify-full') {
    const ca = conn.params.sslrootcert ? fs.readFileSync(conn.params.sslrootcert, 'utf8') : undefined;
    ssl = {
      rejectUnauthorized: true,
      ca,
      ...(sslmode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    };
  }
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: database ?? conn.database,
    ssl,
    application_name: conn.params.application_name ?? 'postgres-dr',
    connectionTimeoutMillis: conn.params.connect_timeout ? Number(conn.params.connect_timeout) * 1000 : 30_000,
  };
}

/** host:port/db, for logs: never the password. */
export function describeConnection(conn: PgConnection, database?: string): string {
  return `${conn.user ?? process.env.USER ?? '?'}@${conn.host ?? 'localhost'}:${conn.port ?? 5432}/${database ?? conn.database ?? conn.user ?? '?'}`;
}
