/**
 * Dump and store: pg_dump → compress → encrypt → SHA-256 → storage, streaming, then check what was stored
 * and write the manifest last. The backup use case runs it, and restore for its pre-restore backup.
 *
 * Every resource it takes (the database session, gpg, the lock, the data object until its manifest is
 * written) is registered on the caller's DisposerStack as it is taken, so one owner cleans up: a failure
 * at any stage aborts the upload and leaves no manifest and no data object behind.
 */
import os from 'node:os';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DisposerStack } from '../../util/disposer.js';
import { describeError, isAbortError, UserError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { formatBytes, formatRate, formatTime } from '../../util/units.js';
import { type Backup, readCatalog } from '../catalog.js';
import {
  type Compression,
  dataKeyFor,
  extensionFor,
  type Format,
  lockKeyFor,
  manifestKeyFor,
  NAME_PATTERN,
} from '../layout.js';
import { acquireLock } from '../lock.js';
import {
  CHECKSUM_ALGORITHM,
  COPY_CHECKSUM_ALGORITHM,
  type Manifest,
  NO_CHECKSUMS,
  serializeManifest,
  type TableStats,
} from '../manifest.js';
import {
  type AuthKeys,
  type ManifestSigner,
  manifestVerifier,
  openSigner,
  type SignerConfig,
  writeAuthenticatedManifest,
} from '../manifest-auth.js';
import { compressStage } from '../pipeline/compress.js';
import { CopyScanner, rowHasher } from '../pipeline/copy-scan.js';
import { GpgSession, passphraseFingerprint } from '../pipeline/gpg.js';
import { processSource } from '../pipeline/process.js';
import { ProgressLine } from '../pipeline/progress.js';
import { Coalesce, every, HashStage, Meter, NonEmptyCheck, TrailerCheck } from '../pipeline/streams.js';
import { childEnv, describeConnection, type PgConnection, pgSessionConfig } from '../postgres/connection.js';
import {
  largeObjectDigest,
  type MeasuredContents,
  readExtensions,
  readObjectCounts,
  readSequences,
} from '../postgres/contents.js';
import {
  type ClientEnvironment,
  type PgClientInstaller,
  type PgVersionRequest,
  resolvePgTool,
} from '../postgres/install.js';
import { assertReadsEverything } from '../postgres/read-access.js';
import { readRolesOrWarn, withRoles } from '../postgres/roles.js';
import { SnapshotSession } from '../postgres/snapshot.js';
import { listTables, type TableRef, tableKey, tableLabel, tableStats } from '../postgres/stats.js';
import { hashStored, type Storage, type WriteOptions } from '../storage/index.js';
import { TOOL_VERSION } from '../version.js';

export type EncryptionConfig =
  | { kind: 'passphrase'; passphrase: string }
  | { kind: 'public-key'; armoredKey: string }
  | { kind: 'none' };

export interface DumpConfig {
  connection: PgConnection;
  /** Where the set lives: storage-relative prefix (from the destination). */
  prefix: string;
  /** The backup set's name; default: derived from the database name. */
  name?: string;
  format: Format;
  compression: Compression;
  compressionLevel: number | null;
  encryption: EncryptionConfig;
  /** How the manifest is authenticated (manifest-auth.ts): the passphrase, or a signing key. */
  signer: SignerConfig;
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

/** How far a backup got: kept up to date as it runs, so a failure can say where it stopped. */
export interface BackupProgress {
  stage: 'preflight' | 'connect' | 'lock' | 'dump' | 'check-upload' | 'manifest' | 'replica' | 'done';
  name?: string;
  dataKey?: string;
  /** Bytes pg_dump wrote, and bytes sent to the storage (compressed, encrypted). */
  dumpedBytes: number;
  storedBytes: number;
  /** The table being dumped (plain format), `schema.name`. */
  currentTable?: string;
  /** True once the manifest is written: from then on the backup exists. */
  stored: boolean;
  /** The newest authenticated backup of the set before this run, when one was found. */
  previous?: { key: string; createdAt: string; dumpSize: number; storedSize: number };
  /** Whether the set was searched for `previous` (undefined `previous` then means there is none). */
  previousLookedUp?: boolean;
}

export function newBackupProgress(): BackupProgress {
  return { stage: 'preflight', dumpedBytes: 0, storedBytes: 0, stored: false };
}

export interface DumpDeps {
  storage: Storage;
  /** Updated as the run goes (stage, bytes, table); the caller reads it after a failure. */
  progress?: BackupProgress;
  /** Milliseconds clock for progress lines (tests give a fake one). */
  clock?: () => number;
  log: Logger;
  signal?: AbortSignal;
  now?: () => Date;
  progressIntervalMs?: number;
  /** Installs a missing pg_dump (GitHub's Linux runners); without it a missing one is a UserError. */
  pgClientInstaller?: PgClientInstaller;
  clientEnvironment?: ClientEnvironment;
  /** Scratch space (the .deb cache of an installed client). */
  tempDir?: string;
}

/** A complete backup: its data object verified and its manifest written. */
export interface StoredBackup {
  manifest: Manifest;
  manifestKey: string;
  location: string;
  retainUntil?: WriteOptions['retainUntil'];
  /** What authenticated the manifest (still open: the caller's stack closes it), for the replica's manifest. */
  signer: ManifestSigner;
}

/** Object Lock retention for objects written at `now`. */
export function retentionFor(lock: DumpConfig['objectLock'], now: Date): WriteOptions['retainUntil'] | undefined {
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

/** What the encryption settings make of the stream: a gpg stage (or none) and what the manifest records. */
interface Encryption {
  scheme: Manifest['encryption']['scheme'];
  fingerprint: string | null;
  stage(): NodeJS.ReadWriteStream | undefined;
}

async function openEncryption(e: EncryptionConfig, stack: DisposerStack): Promise<Encryption> {
  if (e.kind === 'none') return { scheme: 'none', fingerprint: null, stage: () => undefined };
  const gpg = stack.use(await GpgSession.create(), (g) => g.close());
  if (e.kind === 'passphrase') {
    const fingerprint = await passphraseFingerprint(e.passphrase);
    return { scheme: 'openpgp-passphrase', fingerprint, stage: () => gpg.encrypt({ passphrase: e.passphrase }) };
  }
  const recipient = await gpg.importPublicKey(e.armoredKey);
  return { scheme: 'openpgp-public-key', fingerprint: recipient, stage: () => gpg.encrypt({ recipient }) };
}

/**
 * The data object from its first byte until its manifest is written. Disposed before that, it is removed:
 * a write whose last answer was lost (CompleteMultipartUpload done, its response reset) may have stored
 * the object after all.
 */
class PendingObject {
  private kept = false;
  constructor(
    private readonly storage: Storage,
    readonly key: string,
    private readonly log: Logger,
  ) {}

  /** The manifest is written: from here on the object is part of a backup. */
  keep(): void {
    this.kept = true;
  }

  async dispose(): Promise<void> {
    if (this.kept) return;
    try {
      if (await this.storage.head(this.key)) await this.storage.delete([this.key]);
    } catch (err) {
      this.log.warn(
        `could not remove ${this.key} after the failure: ${describeError(err)}; it has no manifest, so no command treats it as a backup, and prune removes it later`,
      );
    }
  }
}

/** The keys of a backup taken now; fails if another backup of the set started in the same second. */
async function reserveKeys(cfg: DumpConfig, storage: Storage, name: string, now: () => Date) {
  const createdAt = new Date(Math.floor(now().getTime() / 1000) * 1000);
  const ext = extensionFor(cfg.format, cfg.compression, cfg.encryption.kind !== 'none');
  const dataKey = dataKeyFor(cfg.prefix, name, createdAt, ext);
  const manifestKey = manifestKeyFor(cfg.prefix, name, createdAt);
  if ((await storage.head(manifestKey)) || (await storage.head(dataKey))) {
    throw new Error(`a backup named ${dataKey} already exists; another backup of '${name}' started in the same second`);
  }
  return { createdAt, dataKey, manifestKey, retainUntil: retentionFor(cfg.objectLock, createdAt) };
}

/** What streaming the dump produced: bytes dumped, and the stored object's size and SHA-256. */
interface DumpOutcome {
  dumpBytes: number;
  /** When pg_dump's output ended (Date.now()): what follows is the tail the storage and checks add. */
  dumpEndedAt: number;
  stored: { bytes: number; sha256: string };
  /** What the storage read back while writing (a local file), when it did. */
  readBack?: { bytes: number; sha256: string };
}

/**
 * Streams pg_dump through `inspect` (checks that read the dump as pg_dump wrote it), a meter, then
 * `transform` (compress, encrypt) and a SHA-256 into `pending`'s key; the upload is aborted on any failure.
 */
async function streamDump(
  o: {
    source: Readable;
    inspect: NodeJS.ReadWriteStream[];
    transform: NodeJS.ReadWriteStream[];
    pending: PendingObject;
    expectedSize: number;
    retainUntil: WriteOptions['retainUntil'] | undefined;
    /** Ask the storage to read the object back as it is written (where it can: a local file). */
    readBack: boolean;
    /** The table being dumped, when the dump is scanned. */
    currentTable?: () => string | undefined;
    /** Expected dump size (the previous backup's), for the progress line's total and ETA. */
    estimate?: number;
  },
  deps: DumpDeps,
): Promise<DumpOutcome> {
  const { storage, log } = deps;
  const dumpMeter = new Meter();
  const hash = new HashStage();
  const stages = [...o.inspect, dumpMeter, ...o.transform, hash];
  const upload = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, upload.signal]) : upload.signal;
  const t0 = Date.now();
  const progress = deps.progress;
  const track = (): void => {
    if (!progress) return;
    progress.dumpedBytes = dumpMeter.bytes;
    progress.storedBytes = hash.bytes;
    progress.currentTable = o.currentTable?.();
  };
  const line = new ProgressLine(deps.clock ?? Date.now, o.estimate);
  let readBack: DumpOutcome['readBack'];
  let dumpEndedAt = 0;
  o.source.once('end', () => {
    dumpEndedAt = Date.now();
  });
  const stopProgress = every(deps.progressIntervalMs ?? 10_000, () => {
    track();
    log.info(`dump: ${line.line(dumpMeter.bytes, o.currentTable?.())}`);
  });
  log.info(`writing ${storage.location}/${o.pending.key}`);
  try {
    const stored = storage.write(o.pending.key, hash, {
      expectedSize: o.expectedSize,
      signal,
      retainUntil: o.retainUntil,
      readBack: o.readBack,
    });
    stored.catch(() => upload.abort());
    const [written] = await Promise.all([stored, pipeline([o.source, ...stages], { signal })]).catch(
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
    readBack = written.readBack;
  } catch (err) {
    upload.abort();
    o.source.destroy();
    throw deps.signal?.aborted ? (deps.signal.reason ?? err) : err;
  } finally {
    stopProgress();
    track();
  }
  const seconds = (Date.now() - t0) / 1000;
  log.info(
    `dump complete: ${formatBytes(dumpMeter.bytes)} dumped, ${formatBytes(hash.bytes)} stored in ${seconds.toFixed(1)}s (${formatRate(dumpMeter.bytes, seconds)})`,
  );
  return {
    dumpBytes: dumpMeter.bytes,
    dumpEndedAt: dumpEndedAt || Date.now(),
    stored: { bytes: hash.bytes, sha256: hash.sha256 },
    readBack,
  };
}

/**
 * Checks the stored object's size and, with `verifyUpload`, reads it back and compares its SHA-256 — or
 * compares what the storage read back while writing it (a local file, read behind the writer).
 */
async function checkStored(
  key: string,
  sent: DumpOutcome['stored'],
  verifyUpload: boolean,
  deps: DumpDeps,
  readBack?: DumpOutcome['readBack'],
) {
  const { storage, log } = deps;
  const head = await storage.head(key);
  if (!head) throw new Error(`${key} is not in the storage after the upload`);
  if (head.size !== sent.bytes) throw new Error(`${key} holds ${head.size} bytes, expected ${sent.bytes}`);
  if (!verifyUpload) {
    log.info(`size matches (${sent.bytes} bytes); read-back skipped (verify-upload: false)`);
    return;
  }
  const check = readBack ?? (await hashStored(storage, key, deps.signal));
  if (check.sha256 !== sent.sha256 || check.bytes !== sent.bytes) {
    throw new Error(`read-back of ${key} does not match what was sent (sha256 ${check.sha256} vs ${sent.sha256})`);
  }
  log.info(
    `read back ${formatBytes(check.bytes)}${readBack ? ' (behind the writer, from the file system)' : ''}: sha256 ${sent.sha256} matches`,
  );
}

/**
 * The newest authenticated, real (not synthetic) backup of the set, or undefined when it has none. It
 * feeds the progress estimate and a failure's summary; errors reading the storage are thrown.
 */
export async function findPreviousBackup(
  storage: Storage,
  prefix: string,
  name: string,
  keys: AuthKeys,
  signal?: AbortSignal,
): Promise<BackupProgress['previous']> {
  const verifier = (await manifestVerifier(keys)) ?? null;
  try {
    const wanted = (x: Backup): boolean => x.name === name && !x.manifest.synthetic;
    // Newest first, stopping at the first authenticated real one: not the whole set's manifests.
    const catalog = await readCatalog(storage, prefix, name, { verifier, signal, stopWhen: wanted });
    const b = catalog.backups.find(wanted);
    if (!b) return undefined;
    const m = b.manifest;
    return { key: b.data.key, createdAt: m.createdAt, dumpSize: m.dump.dumpSize, storedSize: m.object.size };
  } finally {
    await verifier?.close();
  }
}

async function openSnapshot(connection: PgConnection): Promise<SnapshotSession> {
  try {
    return await SnapshotSession.open(pgSessionConfig(connection));
  } catch (err) {
    throw new Error(`cannot connect to ${describeConnection(connection)}: ${describeError(err)}`, { cause: err });
  }
}

/**
 * The phases, in order: open a snapshot of the database, check the role can read all of it (preflight) and pick pg_dump; set up encryption; take the
 * lock; reserve the keys; stream the dump into the storage while the tables are counted; check what was
 * stored; write the manifest. Resources go on `stack`, which the caller disposes (after its own later
 * phases, such as the replica copy, so the lock covers those too).
 */
export async function dumpAndStore(cfg: DumpConfig, deps: DumpDeps, stack: DisposerStack): Promise<StoredBackup> {
  const { storage, log } = deps;
  const now = deps.now ?? (() => new Date());

  const progress = deps.progress;
  const stage = (s: BackupProgress['stage']): void => {
    if (progress) progress.stage = s;
  };
  stage('connect');
  const session = stack.use(await openSnapshot(cfg.connection), (s) => s.close());
  const server = session.server;
  // Preflight, in the snapshot pg_dump will read: fail now, with the GRANTs to run, rather than mid-dump.
  await log.group('Preflight: read access', async () => {
    const access = await assertReadsEverything(session.client);
    log.info(`role ${access.role} can read every table, sequence and large object pg_dump dumps`);
  });
  const pgDump = await resolvePgTool('pg_dump', server.major, {
    request: cfg.pgVersion ?? 'auto',
    binDir: cfg.pgBinDir,
    installer: deps.pgClientInstaller,
    env: deps.clientEnvironment,
    cacheDir: `${deps.tempDir ?? os.tmpdir()}/pgdr-pg-client-debs`,
    log,
  });
  const name = cfg.name ?? nameForDatabase(server.database);
  if (progress) progress.name = name;
  log.info(
    `server: PostgreSQL ${server.version}, database ${server.database} (${formatBytes(server.sizeBytes)} on disk)`,
  );
  log.info(`pg_dump: ${pgDump.version} (${pgDump.path})`);

  const encryption = await openEncryption(cfg.encryption, stack);
  const signer = stack.use(await openSigner(cfg.signer, deps.signal), (s) => s.close());
  stage('lock');
  if (cfg.lock) {
    const key = lockKeyFor(cfg.prefix, name);
    stack.use(await acquireLock(storage, key, { ...cfg.lock, log, signal: deps.signal, now }), (l) => l.release());
  }
  const { createdAt, dataKey, manifestKey, retainUntil } = await reserveKeys(cfg, storage, name, now);
  if (progress) progress.dataKey = dataKey;
  if (retainUntil) log.info(`Object Lock: ${retainUntil.mode} until ${retainUntil.date.toISOString()}`);
  let previous: BackupProgress['previous'];
  try {
    previous = await findPreviousBackup(storage, cfg.prefix, name, await signer.authKeys(), deps.signal);
    if (progress) Object.assign(progress, { previous, previousLookedUp: true });
    log.info(
      previous
        ? `previous backup: ${previous.key} (taken ${formatTime(previous.createdAt)}, ${formatBytes(previous.dumpSize)} dumped): the progress estimate`
        : `no earlier backup of ${name}: progress lines have no estimate`,
    );
  } catch (err) {
    if (deps.signal?.aborted) throw deps.signal.reason ?? err;
    // Only an estimate depends on it: the backup goes on.
    log.warn(`could not read the earlier backups of ${name} (progress lines have no estimate): ${describeError(err)}`);
  }

  const tables = await listTables(session.client);
  // The roles that own objects or hold grants, so a restore onto a fresh server can create them.
  const roles = await readRolesOrWarn(session.client, (w) => log.warn(w));
  if (roles) log.info(`roles the database needs: ${roles.map((r) => r.name).join(', ') || 'none'}`);
  // A plain dump's tables are counted and hashed as the dump streams past (no second read of the
  // data); a custom archive's are counted and checksummed by the server in the exported snapshot,
  // while pg_dump reads the same snapshot.
  const checksums = cfg.tableChecksums !== false;
  const scanner = cfg.format === 'plain' ? new CopyScanner(checksums ? await rowHasher() : null) : null;
  const statsPromise = scanner ? null : tableStats(session.client, tables, undefined, { checksums });
  statsPromise?.catch(() => {});
  // Sequences ignore snapshots: read before pg_dump starts, the dump holds these values or later ones.
  const extensions = await readExtensions(session.client);
  const sequences = await readSequences(session.client);
  const objectCounts = await readObjectCounts(session.client);
  // Large objects follow snapshots: read in this one while pg_dump runs (queued after the table stats).
  const largeObjectsPromise = largeObjectDigest(session.client, deps.signal);
  largeObjectsPromise.catch(() => {});

  // TimeZone and bytea_output fix the text of timestamptz and bytea values (pg_dump itself fixes
  // DateStyle, IntervalStyle and extra_float_digits), so a table's COPY checksum can be recomputed.
  const options =
    `${cfg.connection.params.options ?? ''} -c default_transaction_read_only=on -c TimeZone=UTC -c bytea_output=hex`.trim();
  const source = processSource(
    pgDump.path,
    pgDumpArgs({
      format: cfg.format,
      compression: cfg.compression,
      compressionLevel: cfg.compressionLevel,
      snapshot: session.snapshotId,
      pgDumpMajor: pgDump.major,
    }),
    {
      name: 'pg_dump',
      env: childEnv(cfg.connection, server.database, { PGOPTIONS: options }),
      onStderrLine: pgDumpStderr(log),
    },
  );
  const inspect: NodeJS.ReadWriteStream[] = [new Coalesce(), new NonEmptyCheck('pg_dump')];
  if (cfg.format === 'plain') inspect.push(new TrailerCheck());
  if (scanner) inspect.push(scanner);
  const transform: NodeJS.ReadWriteStream[] = [];
  if (cfg.format === 'plain') transform.push(compressStage(cfg.compression, cfg.compressionLevel, cfg.threads));
  const encrypt = encryption.stage();
  if (encrypt) transform.push(encrypt);
  // Checked absent above: from its first byte, a failure removes it.
  const pending = stack.use(new PendingObject(storage, dataKey, log), (p) => p.dispose());
  stage('dump');
  const dump = await streamDump(
    {
      source,
      inspect,
      transform,
      pending,
      expectedSize: server.sizeBytes,
      retainUntil,
      readBack: cfg.verifyUpload,
      currentTable: scanner ? () => scanner.currentTable : undefined,
      estimate: previous?.dumpSize,
    },
    deps,
  );

  const stats = statsPromise ? await statsPromise : tablesOfDump(scanner as CopyScanner, tables);
  const contents: MeasuredContents = { extensions, sequences, largeObjects: await largeObjectsPromise, objectCounts };
  await session.close(); // done with the database: free the connection before the read-back

  stage('check-upload');
  await log.group('Verify the stored object', () =>
    checkStored(dataKey, dump.stored, cfg.verifyUpload, deps, dump.readBack),
  );

  const manifest: Manifest = {
    formatVersion: 1,
    tool: { name: 'postgres-dr', version: TOOL_VERSION },
    name,
    createdAt: createdAt.toISOString(),
    completedAt: now().toISOString(),
    object: { key: dataKey, size: dump.stored.bytes, sha256: dump.stored.sha256 },
    dump: {
      format: cfg.format,
      compression: cfg.compression,
      compressionLevel: cfg.compression === 'none' ? null : cfg.compressionLevel,
      database: server.database,
      serverVersion: server.version,
      serverVersionNum: server.versionNum,
      pgDumpVersion: pgDump.version,
      dumpSize: dump.dumpBytes,
      ...(scanner?.encoding ? { encoding: scanner.encoding } : {}),
    },
    encryption: {
      scheme: encryption.scheme,
      cipher: encryption.scheme === 'none' ? null : 'AES256',
      keyFingerprint: encryption.fingerprint,
    },
    checksumAlgorithm: !checksums ? NO_CHECKSUMS : scanner ? COPY_CHECKSUM_ALGORITHM : CHECKSUM_ALGORITHM,
    tables: stats,
    totals: { tables: stats.length, rows: stats.reduce((a, t) => a + t.rows, 0) },
    contents: roles ? withRoles(contents, roles) : contents,
  };
  if (deps.signal?.aborted) throw deps.signal.reason;
  stage('manifest');
  // Written last: from here on, the backup exists.
  await writeAuthenticatedManifest(storage, manifestKey, serializeManifest(manifest), signer, {
    signal: deps.signal,
    retainUntil,
  });
  pending.keep();
  if (progress) progress.stored = true;
  // The tail after pg_dump's last byte (the upload's last parts, the read-back, the manifest): with the
  // upload overlapping the dump it stays a few seconds whatever the size.
  log.info(
    `manifest written: ${manifestKey} (authenticated: ${signer.scheme}), ${((Date.now() - dump.dumpEndedAt) / 1000).toFixed(1)}s after the dump ended`,
  );
  return { manifest, manifestKey, location: storage.location, retainUntil, signer };
}
