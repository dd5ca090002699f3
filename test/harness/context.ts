/** What tests use to reach the run's PostgreSQL and S3 server, and small helpers around them. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';

export function pg(): { host: string; port: number; binDir: string; dataDir: string } {
  return inject('pg');
}

export function s3Endpoint(): string {
  return inject('s3').endpoint;
}

export function pgUrl(database = 'postgres', user = 'postgres', password?: string): string {
  const { host, port } = pg();
  const auth = password === undefined ? user : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
  return `postgres://${auth}@${host}:${port}/${database}`;
}

/** The system client tools (psql, pg_dump, …) directory. */
export function clientBin(tool: string): string {
  return path.join(pg().binDir, tool);
}

/** Runs SQL as the superuser with psql; returns unaligned, tuples-only output. */
export function psql(database: string, sql: string): string {
  return psqlOn(pg(), database, sql);
}

/** psql on any server (a second cluster a test started), as `user` (default the superuser). */
export function psqlOn(
  server: { host: string; port: number },
  database: string,
  sql: string,
  user = 'postgres',
): string {
  return execFileSync(
    clientBin('psql'),
    [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-At',
      '-h',
      server.host,
      '-p',
      String(server.port),
      '-U',
      user,
      '-d',
      database,
    ],
    { input: sql, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  ).trim();
}

let dbCounter = 0;
/** A fresh database with a unique name. */
export function createDatabase(prefix = 'db'): string {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${dbCounter++}`.toLowerCase();
  psql('postgres', `CREATE DATABASE "${name}"`);
  return name;
}

export function dropDatabase(name: string): void {
  psql('postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

/** Databases whose name starts with `prefix`. */
export function databasesLike(prefix: string): string[] {
  const out = psql(
    'postgres',
    `SELECT datname FROM pg_database WHERE datname LIKE '${prefix.replace(/'/g, "''")}%' ORDER BY 1`,
  );
  return out ? out.split('\n') : [];
}
