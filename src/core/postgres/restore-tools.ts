/**
 * The server side of verify and restore: a control session that creates, renames and drops databases,
 * and the psql / pg_restore processes that load a dump into one. Connection details reach the tools
 * through the libpq environment only (no password on argv).
 */
import { randomBytes } from 'node:crypto';
import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import type { Logger } from '../../util/log.js';
import type { Format } from '../layout.js';
import { processSink } from '../pipeline/process.js';
import { childEnv, type PgConnection, pgSessionConfig } from './connection.js';
import { PsqlScriptGuard, psqlHasRestrict, restrictKey } from './psql-guard.js';
import { connectClient } from './session.js';

const MAX_IDENTIFIER_BYTES = 63;

/** `YYYYMMDD_HHMMSS` in UTC. */
export function utcStamp(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** Lower-case letters, digits and underscores only: a name nobody has to quote. */
function identifierPart(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'db'
  );
}

/** Cuts `text` to at most `bytes` UTF-8 bytes without splitting a character. */
function cutBytes(text: string, bytes: number): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > bytes) break;
    out += ch;
  }
  return out;
}

/**
 * `pgdr_<purpose>_<name>_<YYYYMMDD_HHMMSS>_<rand>`: unique, a valid unquoted identifier, ≤ 63 bytes
 * (the name part is shortened when needed).
 */
export function scratchDatabaseName(
  purpose: string,
  name: string,
  now: Date,
  rand = randomBytes(3).toString('hex'),
): string {
  const head = `pgdr_${identifierPart(purpose)}_`;
  const tail = `_${utcStamp(now)}_${identifierPart(rand)}`;
  const room = MAX_IDENTIFIER_BYTES - head.length - tail.length;
  const middle = cutBytes(identifierPart(name), Math.max(1, room)).replace(/_+$/, '') || 'db';
  return `${head}${middle}${tail}`;
}

/** `<target>_pre_restore_<YYYYMMDD_HHMMSS>`, the target's part shortened to keep it ≤ 63 bytes. */
export function previousDatabaseName(target: string, now: Date): string {
  const tail = `_pre_restore_${utcStamp(now)}`;
  return `${cutBytes(target, MAX_IDENTIFIER_BYTES - tail.length)}${tail}`;
}

export interface SessionCount {
  applicationName: string;
  count: number;
}

/** A session on the server's maintenance database, for CREATE / ALTER / DROP DATABASE. */
export class ServerSession {
  private constructor(
    readonly client: pg.Client,
    readonly major: number,
    readonly database: string,
  ) {}

  static async open(conn: PgConnection, database?: string): Promise<ServerSession> {
    const client = await connectClient(pgSessionConfig(conn, database));
    try {
      const r = await client.query<{ n: string; db: string }>(
        "SELECT current_setting('server_version_num') AS n, current_database() AS db",
      );
      const row = r.rows[0] as { n: string; db: string };
      return new ServerSession(client, Math.floor(Number(row.n) / 10000), row.db);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
  }

  async exists(db: string): Promise<boolean> {
    const r = await this.client.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [db]);
    return (r.rowCount ?? 0) > 0;
  }

  /**
   * Creates an empty database from template0 (nothing from template1 leaks in). With `like`, it takes
   * that database's encoding, locale and owner.
   */
  async createDatabase(db: string, like?: string): Promise<void> {
    const options: string[] = ['TEMPLATE template0'];
    let owner: string | undefined;
    if (like) {
      const r = await this.client.query<{ d: Record<string, unknown>; enc: string; owner: string }>(
        `SELECT to_jsonb(d) AS d, pg_catalog.pg_encoding_to_char(d.encoding) AS enc, pg_catalog.pg_get_userbyid(d.datdba) AS owner
         FROM pg_catalog.pg_database d WHERE d.datname = $1`,
        [like],
      );
      const row = r.rows[0];
      if (!row) throw new Error(`database ${like} does not exist`);
      owner = row.owner;
      const lit = (v: unknown): string => pg.escapeLiteral(String(v));
      options.push(
        `ENCODING ${lit(row.enc)}`,
        `LC_COLLATE ${lit(row.d.datcollate)}`,
        `LC_CTYPE ${lit(row.d.datctype)}`,
      );
      const provider = row.d.datlocprovider;
      const icu = row.d.daticulocale ?? row.d.datlocale;
      if (provider === 'i' && icu) options.push('LOCALE_PROVIDER icu', `ICU_LOCALE ${lit(icu)}`);
      else if (provider === 'b' && icu) options.push('LOCALE_PROVIDER builtin', `BUILTIN_LOCALE ${lit(icu)}`);
    }
    await this.client.query(`CREATE DATABASE ${pg.escapeIdentifier(db)} ${options.join(' ')}`);
    if (owner)
      await this.client.query(`ALTER DATABASE ${pg.escapeIdentifier(db)} OWNER TO ${pg.escapeIdentifier(owner)}`);
  }

  /** Drops a database and any sessions on it; true when it was there. */
  async dropDatabase(db: string): Promise<boolean> {
    if (!(await this.exists(db))) return false;
    if (this.major >= 13) {
      await this.client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(db)} WITH (FORCE)`);
    } else {
      await this.client.query(
        'SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [db],
      );
      await this.client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(db)}`);
    }
    return true;
  }

  /** Other sessions connected to `db`, grouped by application_name. */
  async sessionsOn(db: string): Promise<SessionCount[]> {
    const r = await this.client.query<{ app: string; n: string }>(
      `SELECT coalesce(nullif(application_name, ''), '(no application_name)') AS app, count(*)::text AS n
       FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()
       GROUP BY 1 ORDER BY 2 DESC, 1`,
      [db],
    );
    return r.rows.map((row) => ({ applicationName: row.app, count: Number(row.n) }));
  }

  async renameDatabase(from: string, to: string): Promise<void> {
    await this.client.query(`ALTER DATABASE ${pg.escapeIdentifier(from)} RENAME TO ${pg.escapeIdentifier(to)}`);
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

/** Arguments of psql for loading a plain dump from stdin: stop at the first error. */
export function psqlArgs(): string[] {
  return ['-X', '-q', '--no-password', '-v', 'ON_ERROR_STOP=1', '-f', '-'];
}

/**
 * Arguments of pg_restore. `file` undefined reads stdin (one job only). `portable` drops ownership and
 * privileges (a scratch copy on another server need not have the same roles).
 */
export function pgRestoreArgs(o: { jobs: number; file?: string; portable: boolean }): string[] {
  const args = ['--exit-on-error', '--no-password'];
  if (o.portable) args.push('--no-owner', '--no-privileges');
  if (o.file) {
    if (o.jobs > 1) args.push(`--jobs=${o.jobs}`);
    args.push(o.file);
  }
  return args;
}

function stderrHandler(tool: string, log: Logger): (line: string) => Error | undefined {
  return (line) => {
    // psql: "psql:<stdin>:42: ERROR:  relation …"; pg_restore: "pg_restore: error: could not execute query: …"
    if (/\b(ERROR|FATAL|PANIC):|^pg_restore: error:|^psql: error:/.test(line)) {
      return new Error(`${tool} failed: ${line.replace(/^(psql|pg_restore): (error: )?/, '')}`);
    }
    log.debug(`${tool}: ${line}`);
    return undefined;
  };
}

/**
 * A sink that loads a dump streamed into it into `db`; 'finish' waits for the tool's exit status 0.
 * A plain dump reaches psql through PsqlScriptGuard (no meta-command of the dump can run), under psql's
 * `\restrict` when `toolVersion` has it.
 */
export function restoreSink(o: {
  format: Format;
  toolPath: string;
  /** The tool's version ("15.18"); unknown: the guard's filter alone. */
  toolVersion?: string;
  connection: PgConnection;
  db: string;
  portable: boolean;
  log: Logger;
}): Writable {
  const tool = o.format === 'plain' ? 'psql' : 'pg_restore';
  const args = o.format === 'plain' ? psqlArgs() : [...pgRestoreArgs({ jobs: 1, portable: o.portable }), '-d', o.db];
  const sink = processSink(o.toolPath, args, {
    name: tool,
    env: childEnv(o.connection, o.db),
    onStderrLine: stderrHandler(tool, o.log),
  });
  if (o.format !== 'plain') return sink;
  const restricted = o.toolVersion !== undefined && psqlHasRestrict(o.toolVersion);
  if (!restricted)
    o.log.info(`psql ${o.toolVersion ?? '?'} has no \restrict: the dump's meta-commands are filtered out`);
  return throughTo(new PsqlScriptGuard(restricted ? restrictKey() : undefined), sink);
}

/** A Writable feeding `stage` → `sink`: 'finish' once the sink finished, any failure destroys it. */
function throughTo(stage: Transform, sink: Writable): Writable {
  const done = pipeline(stage, sink);
  const w = new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Buffer, _enc, cb) {
      if (stage.write(chunk)) cb();
      else stage.once('drain', () => cb());
    },
    final(cb) {
      stage.end();
      done.then(() => cb(), cb);
    },
    destroy(err, cb) {
      if (!stage.destroyed) stage.destroy(err ?? undefined);
      if (!sink.destroyed) sink.destroy(err ?? undefined);
      cb(err);
    },
  });
  // The tool may fail before the caller's pipeline has taken the sink (it still opens the object):
  // the error is kept on the stream (pipeline reads `errored`), not thrown as an unhandled 'error'.
  w.on('error', () => {});
  done.catch((err: Error) => {
    if (!w.destroyed) w.destroy(err);
  });
  return w;
}

/** pg_restore of a custom-format file with several jobs (pg_restore needs a seekable file for -j). */
export async function restoreFile(o: {
  toolPath: string;
  connection: PgConnection;
  db: string;
  file: string;
  jobs: number;
  portable: boolean;
  log: Logger;
  signal?: AbortSignal;
}): Promise<void> {
  const sink = processSink(o.toolPath, [...pgRestoreArgs(o), '-d', o.db], {
    name: 'pg_restore',
    env: childEnv(o.connection, o.db),
    onStderrLine: stderrHandler('pg_restore', o.log),
  });
  await pipeline(Readable.from([]), sink, { signal: o.signal });
}
