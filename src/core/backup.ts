/**
 * The backup use case: pg_dump → compress → encrypt → SHA-256 → storage, streaming, then check what was
 * stored and write the manifest last. Any failure anywhere leaves no manifest and no data object behind.
 */
import os from 'node:os';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describeError, isAbortError, UserError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { formatBytes, formatRate } from '../util/units.js';
import {
  type Compression,
  dataKeyFor,
  extensionFor,
  type Format,
  lockKeyFor,
  manifestKeyFor,
  NAME_PATTERN,
} from './layout.js';
import { acquireLock, type HeldLock } from './lock.js';
import {
  CHECKSUM_ALGORITHM,
  COPY_CHECKSUM_ALGORITHM,
  type Manifest,
  NO_CHECKSUMS,
  serializeManifest,
  type TableStats,
} from './manifest.js';
import { compressStage } from './pipeline/compress.js';
import { CopyScanner, rowHasher } from './pipeline/copy-scan.js';
import { GpgSession, passphraseFingerprint } from './pipeline/gpg.js';
import { processSource } from './pipeline/process.js';
import { Coalesce, every, HashStage, Meter, NonEmptyCheck, TrailerCheck } from './pipeline/streams.js';
import { childEnv, describeConnection, type PgConnection, pgClientConfig } from './postgres/connection.js';
import {
  type ClientEnvironment,
  type PgClientInstaller,
  type PgVersionRequest,
  resolvePgTool,
} from './postgres/install.js';
import { listTables, SnapshotSession, type TableRef, tableKey, tableLabel, tableStats } from './postgres/stats.js';
import { ReplicaError, type ReplicaResult, type ReplicaTarget, replicateBackup } from './replica.js';
import { hashStored, type Storage, type WriteOptions } from './storage/index.js';
import { TOOL_VERSION } from './version.js';

export type EncryptionConfig =
  | { kind: 'passphrase'; passphrase: string }
  | { kind: 'public-key'; armoredKey: string }
  | { kind: 'none' };

export interface BackupConfig {
  connection: PgConnection;
  /** Where the set lives: storage-relative prefix (from the destination). */
  prefix: string;
  /** The backup set's name; default: derived from the database name. */
  name?: string;
  format: Format;
  compression: Compression;
  compressionLevel: number | null;
  encryption: EncryptionConfig;
  pgBinDir?: string;
  /** Read the stored object back and compare its SHA-256 (default true). */
  verifyUpload: boolean;
  /** Threads for parallel gzip. */
  threads?: number;
  /** Content checksums of every table in the manifest (default true); false: exact row counts only. */
  tableChecksums?: boolean;
  /** One backup of a set at a time (see lock.ts); undefined: no lock. */
  lock?: { ttlSeconds: number; waitSeconds: number };
  /** Which pg_dump: 'auto' (default) matches the server's major; a number asks for that major. */
  pgVersion?: PgVersionRequest;
  /** S3 Object Lock retention for the data object and the manifest (primary and replica). */
  objectLock?: { days: number; mode: 'COMPLIANCE' | 'GOVERNANCE' };
}

export interface BackupDeps {
  storage: Storage;
  log: Logger;
  signal?: AbortSignal;
  now?: () => Date;
  progressIntervalMs?: number;
  /** A second destination that receives a verified copy after the primary backup is complete. */
  replica?: ReplicaTarget;
  /** Installs a missing pg_dump (GitHub's Linux runners); without it a missing one is a UserError. */
  pgClientInstaller?: PgClientInstaller;
  clientEnvironment?: ClientEnvironment;
  /** Scratch space (the .deb cache of an installed client). */
  tempDir?: string;
}

export interface BackupResult {
  manifest: Manifest;
  manifestKey: string;
  durationSeconds: number;
  location: string;
  /** The replica's copy, when a replica was configured and the copy succeeded. */
  replica?: ReplicaResult;
  /** Set when the primary backup is complete but its copy to the replica failed: the run must fail. */
  replicaError?: ReplicaError;
}

/** Object Lock retention for objects written at `now`. */
export function retentionFor(lock: BackupConfig['objectLock'], now: Date): WriteOptions['retainUntil'] | undefined {
  if (!lock) return undefined;
  return { mode: lock.mode, date: new Date(now.getTime() + lock.days * 86_400_000) };
}

/** The set name for a database: lower case, invalid characters replaced. */
export function nameForDatabase(database: string): string {
  const n = database
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  if (!NAME_PATTERN.test(n)) {
    throw new UserError(`cannot derive a backup name from the database name '${database}': set 'name'`);
  }
  return n;
}

/**
 * The manifest's tables from a plain dump's data sections, checked against the tables the server
 * listed in the same snapshot: pg_dump writes a data section for every table it dumps, even an empty
 * one, so a listed table without one means the dump does not hold it.
 */
export function tablesOfDump(scanner: CopyScanner, listed: TableRef[]): TableStats[] {
  const dumped = new Set(scanner.sections.map(tableKey));
  const missing = listed.filter((t) => !dumped.has(tableKey(t)));
  if (missing.length) {
    throw new Error(
      `the dump holds no data for ${missing.length} table(s) the database has: ${missing
        .slice(0, 10)
        .map(tableLabel)
        .join(', ')}${missing.length > 10 ? ', …' : ''} (is a table in a schema that belongs to an extension?)`,
    );
  }
  return scanner.sections.map((s) => ({
    schema: s.schema,
    name: s.name,
    rows: s.rows,
    checksum: s.checksum,
    columns: s.columns,
  }));
}

/** pg_dump's arguments (no connection details: those travel in the environment). */
export function pgDumpArgs(o: {
  format: Format;
  compression: Compression;
  compressionLevel: number | null;
  snapshot?: string;
  pgDumpMajor: number;
}): string[] {
  const args = ['--no-password', '--verbose'];
  if (o.snapshot) args.push(`--snapshot=${o.snapshot}`);
  if (o.format === 'plain') {
    args.push('--format=plain');
  } else {
    args.push('--format=custom');
    // The custom format compresses inside pg_dump (so pg_restore can seek); no outer compression.
    if (o.compression === 'none') args.push('--compress=0');
    else if (o.compression === 'gzip') args.push(`--compress=${o.compressionLevel ?? 6}`);
    else {
      if (o.pgDumpMajor < 16) {
        throw new UserError(
          `'compression: zstd' with 'format: custom' needs pg_dump 16 or newer (found ${o.pgDumpMajor}); use gzip`,
        );
      }
      args.push(`--compress=zstd:${o.compressionLevel ?? 3}`);
    }
  }
  return args;
}

function pgDumpStderr(log: Logger): (line: string) => Error | undefined {
  return (line) => {
    if (/^pg_dump: error:/.test(line) || /^pg_dump: \[.*\] (error|fatal)/i.test(line)) {
      return new Error(line.replace(/^pg_dump: error: /, 'pg_dump failed: '));
    }
    if (/^pg_dump: warning:/.test(line)) log.warn(line);
    else log.debug(line);
    return undefined;
  };
}

async function deleteQuietly(storage: Storage, key: string, log: Logger): Promise<void> {
  try {
    if (await storage.head(key)) await storage.delete([key]);
  } catch (err) {
    log.warn(
      `could not remove ${key} after the failure: ${describeError(err)}; it has no manifest, so no command treats it as a backup, and prune removes it later`,
    );
  }
}

export async function runBackup(cfg: BackupConfig, deps: BackupDeps): Promise<BackupResult> {
  const { storage, log } = deps;
  const now = deps.now ?? (() => new Date());
  const started = Date.now();

  await log.group('Preflight', async () => {
    await storage.probe();
    log.info(`storage: ${storage.location} is reachable`);
    if (deps.replica) {
      await deps.replica.storage.probe();
      log.info(`replica: ${deps.replica.storage.location} is reachable`);
    }
  });

  let session: SnapshotSession;
  try {
    session = await SnapshotSession.open(pgClientConfig(cfg.connection));
  } catch (err) {
    throw new Error(`cannot connect to ${describeConnection(cfg.connection)}: ${describeError(err)}`, { cause: err });
  }
  const gpg = cfg.encryption.kind === 'none' ? undefined : await GpgSession.create();
  let dataKey: string | undefined;
  let dataStored = false;
  let lock: HeldLock | undefined;
  try {
    const server = session.server;
    const pgDump = await resolvePgTool('pg_dump', server.major, {
      request: cfg.pgVersion ?? 'auto',
      binDir: cfg.pgBinDir,
      installer: deps.pgClientInstaller,
      env: deps.clientEnvironment,
      cacheDir: `${deps.tempDir ?? os.tmpdir()}/pgdr-pg-client-debs`,
      log,
    });
    const name = cfg.name ?? nameForDatabase(server.database);
    log.info(
      `server: PostgreSQL ${server.version}, database ${server.database} (${formatBytes(server.sizeBytes)} on disk)`,
    );
    log.info(`pg_dump: ${pgDump.version} (${pgDump.path})`);

    let fingerprint: string | null = null;
    let recipient: string | undefined;
    if (gpg && cfg.encryption.kind === 'public-key') {
      recipient = await gpg.importPublicKey(cfg.encryption.armoredKey);
      fingerprint = recipient;
    } else if (cfg.encryption.kind === 'passphrase') {
      fingerprint = await passphraseFingerprint(cfg.encryption.passphrase);
    }

    if (cfg.lock) {
      lock = await acquireLock(storage, lockKeyFor(cfg.prefix, name), { ...cfg.lock, log, signal: deps.signal, now });
    }

    const createdAt = new Date(Math.floor(now().getTime() / 1000) * 1000);
    const retainUntil = retentionFor(cfg.objectLock, createdAt);
    if (retainUntil) log.info(`Object Lock: ${retainUntil.mode} until ${retainUntil.date.toISOString()}`);
    const ext = extensionFor(cfg.format, cfg.compression, cfg.encryption.kind !== 'none');
    dataKey = dataKeyFor(cfg.prefix, name, createdAt, ext);
    const manifestKey = manifestKeyFor(cfg.prefix, name, createdAt);
    if ((await storage.head(manifestKey)) || (await storage.head(dataKey))) {
      throw new Error(
        `a backup named ${dataKey} already exists; another backup of '${name}' started in the same second`,
      );
    }

    const tables = await listTables(session.client);
    // A plain dump's tables are counted and hashed as the dump streams past (no second read of the
    // data); a custom archive's are counted and checksummed by the server in the exported snapshot,
    // while pg_dump reads the same snapshot.
    const scanner =
      cfg.format === 'plain' ? new CopyScanner(cfg.tableChecksums !== false ? await rowHasher() : null) : null;
    const statsPromise = scanner
      ? null
      : tableStats(session.client, tables, undefined, { checksums: cfg.tableChecksums !== false });
    statsPromise?.catch(() => {});

    const dumpArgs = pgDumpArgs({
      format: cfg.format,
      compression: cfg.compression,
      compressionLevel: cfg.compressionLevel,
      snapshot: session.snapshotId,
      pgDumpMajor: pgDump.major,
    });
    // TimeZone and bytea_output fix the text of timestamptz and bytea values (pg_dump itself fixes
    // DateStyle, IntervalStyle and extra_float_digits), so a table's COPY checksum can be recomputed.
    const options =
      `${cfg.connection.params.options ?? ''} -c default_transaction_read_only=on -c TimeZone=UTC -c bytea_output=hex`.trim();
    const source: Readable = processSource(pgDump.path, dumpArgs, {
      name: 'pg_dump',
      env: childEnv(cfg.connection, server.database, { PGOPTIONS: options }),
      onStderrLine: pgDumpStderr(log),
    });
    const dumpMeter = new Meter();
    const hash = new HashStage();
    const stages: Array<NodeJS.ReadWriteStream> = [new Coalesce(), new NonEmptyCheck('pg_dump')];
    if (cfg.format === 'plain') stages.push(new TrailerCheck());
    if (scanner) stages.push(scanner);
    stages.push(dumpMeter);
    if (cfg.format === 'plain') stages.push(compressStage(cfg.compression, cfg.compressionLevel, cfg.threads));
    if (gpg) {
      stages.push(
        gpg.encrypt(
          cfg.encryption.kind === 'passphrase'
            ? { passphrase: cfg.encryption.passphrase }
            : { recipient: recipient as string },
        ),
      );
    }
    stages.push(hash);

    const upload = new AbortController();
    const signal = deps.signal ? AbortSignal.any([deps.signal, upload.signal]) : upload.signal;
    const t0 = Date.now();
    const stopProgress = every(deps.progressIntervalMs ?? 10_000, () => {
      const s = (Date.now() - t0) / 1000;
      log.info(
        `… dumped ${formatBytes(dumpMeter.bytes)} (${formatRate(dumpMeter.bytes, s)}), stored ${formatBytes(hash.bytes)}`,
      );
    });
    log.info(`writing ${storage.location}/${dataKey}`);
    try {
      // From here a failure removes dataKey (checked absent above): a write whose last answer was lost
      // (CompleteMultipartUpload done, its response reset) may have stored the object after all.
      dataStored = true;
      const stored = storage.write(dataKey, hash, { expectedSize: server.sizeBytes, signal, retainUntil });
      stored.catch(() => upload.abort());
      const [written] = await Promise.all([stored, pipeline([source, ...stages], { signal })]).catch(
        async (err: unknown) => {
          // Stages stopped because the storage gave up end with an AbortError (when the dump outlasts the
          // upload's retries): the storage's own error is the cause.
          if (isAbortError(err) && !deps.signal?.aborted) {
            const storageError = await stored.then(
              () => undefined,
              (e: unknown) => e,
            );
            if (storageError !== undefined && !isAbortError(storageError)) throw storageError;
          }
          throw err;
        },
      );
      if (written.size !== hash.bytes) {
        throw new Error(`the storage took ${written.size} bytes but ${hash.bytes} were sent`);
      }
    } catch (err) {
      upload.abort();
      source.destroy();
      throw deps.signal?.aborted ? (deps.signal.reason ?? err) : err;
    } finally {
      stopProgress();
    }
    const dumpSeconds = (Date.now() - t0) / 1000;
    log.info(
      `dump complete: ${formatBytes(dumpMeter.bytes)} dumped, ${formatBytes(hash.bytes)} stored in ${dumpSeconds.toFixed(1)}s (${formatRate(dumpMeter.bytes, dumpSeconds)})`,
    );

    const stats = statsPromise ? await statsPromise : tablesOfDump(scanner as CopyScanner, tables);
    await session.close();

    await log.group('Verify the stored object', async () => {
      const head = await storage.head(dataKey as string);
      if (!head) throw new Error(`${dataKey} is not in the storage after the upload`);
      if (head.size !== hash.bytes) throw new Error(`${dataKey} holds ${head.size} bytes, expected ${hash.bytes}`);
      if (cfg.verifyUpload) {
        const check = await hashStored(storage, dataKey as string, deps.signal);
        if (check.sha256 !== hash.sha256 || check.bytes !== hash.bytes) {
          throw new Error(
            `read-back of ${dataKey} does not match what was sent (sha256 ${check.sha256} vs ${hash.sha256})`,
          );
        }
        log.info(`read back ${formatBytes(check.bytes)}: sha256 ${hash.sha256} matches`);
      } else log.info(`size matches (${hash.bytes} bytes); read-back skipped (verify-upload: false)`);
    });

    const manifest: Manifest = {
      formatVersion: 1,
      tool: { name: 'postgres-dr', version: TOOL_VERSION },
      name,
      createdAt: createdAt.toISOString(),
      completedAt: now().toISOString(),
      object: { key: dataKey, size: hash.bytes, sha256: hash.sha256 },
      dump: {
        format: cfg.format,
        compression: cfg.compression,
        compressionLevel: cfg.compression === 'none' ? null : cfg.compressionLevel,
        database: server.database,
        serverVersion: server.version,
        serverVersionNum: server.versionNum,
        pgDumpVersion: pgDump.version,
        dumpSize: dumpMeter.bytes,
        ...(scanner?.encoding ? { encoding: scanner.encoding } : {}),
      },
      encryption: {
        scheme:
          cfg.encryption.kind === 'passphrase'
            ? 'openpgp-passphrase'
            : cfg.encryption.kind === 'public-key'
              ? 'openpgp-public-key'
              : 'none',
        cipher: cfg.encryption.kind === 'none' ? null : 'AES256',
        keyFingerprint: fingerprint,
      },
      checksumAlgorithm:
        cfg.tableChecksums === false ? NO_CHECKSUMS : scanner ? COPY_CHECKSUM_ALGORITHM : CHECKSUM_ALGORITHM,
      tables: stats,
      totals: { tables: stats.length, rows: stats.reduce((a, t) => a + t.rows, 0) },
    };
    if (deps.signal?.aborted) throw deps.signal.reason;
    // Written last: from here on, the backup exists.
    await storage.writeText(manifestKey, serializeManifest(manifest), { signal: deps.signal, retainUntil });
    log.info(`manifest written: ${manifestKey}`);
    const result: BackupResult = {
      manifest,
      manifestKey,
      durationSeconds: (Date.now() - started) / 1000,
      location: storage.location,
    };
    dataStored = false; // the backup is complete: nothing below removes it
    if (deps.replica) {
      const target = deps.replica;
      try {
        result.replica = await log.group(`Replica: ${target.storage.location}`, () =>
          replicateBackup({ source: storage, manifest, target, retainUntil, log, signal: deps.signal }),
        );
      } catch (err) {
        if (!(err instanceof ReplicaError) || deps.signal?.aborted) throw err;
        log.warn(err.message);
        result.replicaError = err;
      }
      result.durationSeconds = (Date.now() - started) / 1000;
    }
    return result;
  } catch (err) {
    if (dataKey && dataStored) await deleteQuietly(storage, dataKey, log);
    throw err;
  } finally {
    await session.close();
    await gpg?.close();
    await lock?.release();
  }
}
