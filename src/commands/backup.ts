/** The backup action: inputs → runBackup → outputs and a summary. */
import { type BackupConfig, type BackupResult, runBackup } from '../core/backup.js';
import { type BackupProgress, findPreviousBackup, newBackupProgress } from '../core/backups/dump.js';
import { isConnectFailure, isPermissionDenied, isStorageFailure } from '../core/failure.js';
import { sendHeartbeat } from '../core/heartbeat.js';
import { type Compression, validateName } from '../core/layout.js';
import { openSigner } from '../core/manifest-auth.js';
import { checkCompressionSupported, DEFAULT_LEVEL, LEVEL_RANGE } from '../core/pipeline/compress.js';
import { ProcessError } from '../core/pipeline/process.js';
import { parseDatabaseUrl } from '../core/postgres/connection.js';
import { parsePgVersion } from '../core/postgres/install.js';
import { attachReport, type CommandResult, type Report } from '../core/report.js';
import { describeError, UserError } from '../util/errors.js';
import {
  formatBytes,
  formatDuration,
  formatRate,
  formatTime,
  parseBoolean,
  parseChoice,
  parseDuration,
  parseIntInput,
} from '../util/units.js';
import { type Command, progressIntervalMs } from './command.js';
import {
  type DestinationConfig,
  destinationInputs,
  heartbeatInputs,
  type InputGetter,
  readDestination,
  readEncryption,
  readHeartbeat,
  readObjectLock,
  readReplica,
  readServerSideEncryption,
  readSigner,
  SIGNING_INPUTS,
  storageFor,
} from './inputs.js';
import { boundInputs, COMMON_FAILURE_KINDS, type CommandSpec, failureOutputs } from './schema.js';

const BACKUP_FAILURE_KINDS: Record<string, string> = {
  config: COMMON_FAILURE_KINDS.config as string,
  connect: 'the database could not be reached or refused the login',
  permission: 'the database user may not read a table or sequence',
  lock: 'another backup of the set is running',
  dump: 'pg_dump or the encryption failed; nothing was stored',
  storage: 'the storage could not be reached or written; nothing was stored',
  integrity: 'the stored object did not read back as sent; it was not kept',
  replica: 'the copy to replica-destination failed; the primary backup is stored',
  cancelled: COMMON_FAILURE_KINDS.cancelled as string,
  other: COMMON_FAILURE_KINDS.other as string,
};

export function readBackupConfig(raw: InputGetter): {
  config: BackupConfig;
  destination: ReturnType<typeof readDestination>;
  replica?: DestinationConfig;
} {
  const get = boundInputs(backupSpec, raw);
  const connection = parseDatabaseUrl(get('database-url'));
  const base = readDestination(get);
  const destination = { ...base, s3: { ...base.s3, ...readServerSideEncryption(get) } };
  const replica = readReplica(get, destination);
  const objectLock = readObjectLock(get, replica ? [destination, replica] : [destination]);
  const pgVersion = parsePgVersion(get('pg-version'));
  const name = get('name') ? validateName(get('name')) : undefined;
  const format = parseChoice(get('format'), 'format', ['plain', 'custom'] as const);
  const compression: Compression = parseChoice(get('compression'), 'compression', ['gzip', 'zstd', 'none'] as const);
  if (format === 'plain') checkCompressionSupported(compression);
  let compressionLevel = DEFAULT_LEVEL[compression];
  if (get('compression-level')) {
    if (compression === 'none') throw new UserError(`'compression-level' has no effect with 'compression: none'`);
    const [min, max] = LEVEL_RANGE[compression];
    compressionLevel = parseIntInput(get('compression-level'), 'compression-level', { min, max });
  }
  const encryption = readEncryption(get);
  const signer = readSigner(get, encryption);
  const verifyUpload = parseBoolean(get('verify-upload'), 'verify-upload');
  const tableChecksums = parseBoolean(get('table-checksums'), 'table-checksums');
  const pgBinDir = get('pg-bin-dir') || undefined;
  const lock = {
    ttlSeconds: parseDuration(get('lock-ttl'), 'lock-ttl'),
    waitSeconds: parseDuration(get('lock-wait'), 'lock-wait'),
  };
  return {
    destination,
    replica,
    config: {
      connection,
      prefix: destination.destination.prefix,
      name,
      format,
      compression,
      compressionLevel,
      encryption,
      signer,
      pgBinDir,
      verifyUpload,
      tableChecksums,
      lock,
      pgVersion,
      objectLock,
    },
  };
}

export const backupSpec: CommandSpec = {
  name: 'backup',
  summary: 'dump a database, compress, encrypt and store it with a manifest',
  action: {
    name: 'postgres-dr backup',
    description:
      'Dump a PostgreSQL database (read-only), compress, encrypt with OpenPGP AES-256, upload to S3-compatible storage or a directory, verify the stored object, and write a manifest last.',
    icon: 'database',
    color: 'blue',
  },
  inputs: {
    'database-url': {
      description:
        'postgres://user:password@host:5432/dbname[?sslmode=require]. Use a read-only role; the session is forced read-only anyway. When empty, the standard PG* environment variables apply (PGHOST, PGUSER, PGPASSWORD, …).',
      secret: 'url-credentials',
    },
    ...destinationInputs('s3://bucket/prefix, or a local directory path.', { required: true }),
    name: { description: 'Name of the backup set, [a-z0-9][a-z0-9._-]*. Default: the database name.' },
    format: {
      description:
        'plain (a .sql.gz that `gunzip -c | psql` restores) or custom (pg_restore, parallel restore with -j).',
      default: 'plain',
    },
    compression: {
      description:
        'gzip, zstd (Node 22.15+; the node24 runtime has it) or none. With format custom, pg_dump compresses (zstd needs pg_dump 16+).',
      default: 'gzip',
    },
    'compression-level': { description: 'gzip 1-9 (default 6), zstd 1-19 (default 3).' },
    encryption: {
      description:
        'openpgp (default: a key is required) or none (store unencrypted: only for storage you trust completely).',
      default: 'openpgp',
    },
    'encryption-passphrase': {
      description: 'Passphrase for OpenPGP symmetric AES-256 encryption (pass a secret). Decrypt with `gpg --decrypt`.',
      secret: true,
    },
    'encryption-public-key': {
      description:
        'ASCII-armored OpenPGP public key to encrypt to, instead of a passphrase: the backup job then cannot decrypt what it wrote.',
    },
    sse: { description: 'Server-side encryption as well: AES256 or aws:kms.' },
    'sse-kms-key-id': { description: 'KMS key for sse: aws:kms.' },
    'pg-bin-dir': {
      description:
        'Directory holding pg_dump. Default: the oldest installed client that is at least the server major (PATH and /usr/lib/postgresql/*/bin).',
    },
    'verify-upload': {
      description: 'Read the stored object back and compare its SHA-256 with what was sent.',
      default: 'true',
      type: 'boolean',
    },
    'table-checksums': {
      description:
        "Record each table's content checksum in the manifest, so verify checks contents as well as exact row counts. Plain dumps: a sum of per-row XXH64 hashes read off the dump as it streams (pgdr-copy-xxh64-sum-v1, no extra load on the database). Custom format: computed by the server in the dump's snapshot (pgdr-row-md5-sum64-v1), which costs it about as much CPU as the dump. false records exact row counts only.",
      default: 'true',
      type: 'boolean',
    },
    'lock-ttl': {
      description:
        'A backup holds <prefix>/<name>/.lock while it runs, so two backups of one set never overlap. A lock older than this (a killed run) is taken over, with a warning.',
      default: '6h',
      type: 'duration',
    },
    'lock-wait': {
      description:
        'How long to wait for a running backup of the same set before failing (0s: fail at once, naming the holder).',
      default: '0s',
      type: 'duration',
    },
    ...SIGNING_INPUTS,
    'pg-version': {
      description:
        "Which pg_dump: auto (the oldest installed client at least the server's major) or a major such as 17. When the right client is missing, the action installs postgresql-client-<major> from the PostgreSQL apt repository on GitHub's Linux runners (the .deb files are cached with actions/cache); elsewhere it fails before any upload, naming the command to run.",
      default: 'auto',
    },
    'object-lock-days': {
      description:
        'Keep the data object and its manifest immutable for this many days with S3 Object Lock (the bucket must have Object Lock enabled). Not for local directories.',
    },
    'object-lock-mode': {
      description:
        'GOVERNANCE (default: users with s3:BypassGovernanceRetention can still delete) or COMPLIANCE (nobody, not even the root account, can delete before the date).',
    },
    'replica-destination': {
      description:
        'A second destination (s3://bucket/prefix or a directory, e.g. a bucket in another region): after the primary backup is stored and verified, the same bytes are copied there, read back and checked against the SHA-256, then its manifest is written. A failed copy fails the step; the primary backup stays good.',
    },
    'replica-s3-endpoint': {
      description:
        'S3 API endpoint of the replica (empty: AWS S3, or AWS_ENDPOINT_URL_S3). The AWS credentials of the job must reach both destinations.',
    },
    'replica-s3-region': { description: 'Region of the replica bucket. Empty: AWS_REGION, else us-east-1.' },
    'replica-s3-force-path-style': {
      description: 'Path-style addressing for the replica. Default: true when replica-s3-endpoint is set.',
    },
    ...heartbeatInputs('with `/start` when the backup begins (notify pings success or failure at the end of the run)'),
  },
  failureKinds: BACKUP_FAILURE_KINDS,
  outputs: {
    key: { description: 'Object key of the backup data.' },
    'manifest-key': { description: 'Object key of its manifest.' },
    size: { description: 'Stored size in bytes.' },
    sha256: { description: 'SHA-256 of the stored object (hex).' },
    'duration-seconds': { description: 'Wall time of the whole backup.' },
    'created-at': { description: 'Snapshot time (UTC ISO-8601).' },
    name: { description: 'Backup set name.' },
    tables: { description: 'Number of tables in the manifest.' },
    rows: { description: 'Total rows across those tables.' },
    'replica-key': { description: "Object key of the replica's copy (empty without replica-destination)." },
    'replica-manifest-key': {
      description: "Object key of the replica's manifest (empty without replica-destination).",
    },
    ...failureOutputs(BACKUP_FAILURE_KINDS),
  },
};

/** A thrown error's kind where the shared rules (core/failure.ts) cannot tell. */
function classifyBackupFailure(err: unknown): string | undefined {
  if (isStorageFailure(err) || isPermissionDenied(err) || isConnectFailure(err)) return undefined;
  const text = describeError(err);
  if (err instanceof Error && err.name === 'LockHeldError') return 'lock';
  if (/read-back of |after the upload|holds \d+ bytes, expected|the storage took \d+ bytes/.test(text))
    return 'integrity';
  if (err instanceof ProcessError || /\b(pg_dump|gpg|openpgp)\b/i.test(text)) return 'dump';
  return undefined;
}

const STAGE_TEXT: Record<BackupProgress['stage'], string> = {
  preflight: 'reaching the storage (preflight)',
  connect: 'connecting to the database',
  lock: "taking the set's lock",
  dump: 'dumping and uploading',
  'check-upload': 'checking the stored object',
  manifest: 'writing the manifest',
  replica: 'copying to the replica',
  done: 'finished',
};

/** The newest good backup and its age, in words (or why it is not known). */
function previousText(p: BackupProgress, now: Date): string {
  const previous = p.previous;
  if (!previous) {
    if (p.previousLookedUp) return 'none found';
    return p.stage === 'preflight'
      ? 'unknown: the storage could not be read'
      : "unknown: the set's name was not known (give 'name')";
  }
  const age = Math.max(0, (now.getTime() - Date.parse(previous.createdAt)) / 1000);
  return `${previous.key}, taken ${formatTime(previous.createdAt)} (${formatDuration(age)} ago)`;
}

export function backupReport(r: BackupResult, objectLock: BackupConfig['objectLock']): Report {
  const m = r.manifest;
  const replicaFacts: Array<[string, string]> = r.replica
    ? [['Replica', `${r.replica.location}/${r.replica.dataKey} (read back, sha256 matches)`]]
    : r.replicaError
      ? [['Replica', `FAILED: ${r.replicaError.message}`]]
      : [];
  const lockFacts: Array<[string, string]> = objectLock
    ? [['Object Lock', `${objectLock.mode}, ${objectLock.days} day(s)`]]
    : [];
  const ratio = m.object.size > 0 ? m.dump.dumpSize / m.object.size : 0;
  return {
    title: r.replicaError ? `Backup of ${m.name} stored; the replica copy failed` : `Backup of ${m.name} stored`,
    status: r.replicaError ? 'failure' : 'success',
    headline: `${formatBytes(m.object.size)} stored and verified in ${formatDuration(r.durationSeconds)}`,
    facts: [
      ['Backup set', m.name],
      ['Snapshot', formatTime(m.createdAt)],
      ['Database', `${m.dump.database} (PostgreSQL ${m.dump.serverVersion}, pg_dump ${m.dump.pgDumpVersion})`],
      ['Size', `${formatBytes(m.dump.dumpSize)} dumped, ${formatBytes(m.object.size)} stored (${ratio.toFixed(2)}×)`],
      ['Duration', `${formatDuration(r.durationSeconds)} (${formatRate(m.dump.dumpSize, r.durationSeconds)})`],
      ['Tables / rows', `${m.totals.tables.toLocaleString('en-US')} / ${m.totals.rows.toLocaleString('en-US')}`],
      [
        'Format',
        `${m.dump.format}, ${m.dump.compression}${m.dump.compressionLevel ? ` -${m.dump.compressionLevel}` : ''}`,
      ],
      [
        'Encryption',
        m.encryption.scheme === 'none'
          ? 'none'
          : `OpenPGP AES-256 (${m.encryption.scheme === 'openpgp-public-key' ? `public key ${m.encryption.keyFingerprint}` : 'passphrase'})`,
      ],
      ['Object', `${r.location}/${m.object.key}`],
      ['Manifest', `${r.location}/${r.manifestKey}`],
      ['SHA-256', m.object.sha256],
      ...lockFacts,
      ...replicaFacts,
    ],
    tables: [],
  };
}

/** What a failed backup reached: the stage, the bytes and table, whether anything was stored, the last good backup. */
export function backupFailureReport(
  err: unknown,
  p: BackupProgress,
  o: { name?: string; location: string; now: Date; startedAt: Date },
): Report {
  const set = p.name ?? o.name;
  const dumped =
    p.stage === 'dump' || p.dumpedBytes > 0
      ? `${formatBytes(p.dumpedBytes)} (${formatBytes(p.storedBytes)} sent to the storage)`
      : 'nothing (the dump had not started)';
  const facts: Array<[string, string]> = [
    ['Backup set', set ?? '(not known yet: the database name was not read)'],
    ['Failed', `${formatTime(o.now)}, after ${formatDuration((o.now.getTime() - o.startedAt.getTime()) / 1000)}`],
    ['Stage reached', STAGE_TEXT[p.stage]],
    ['Dumped', dumped],
  ];
  if (p.currentTable) facts.push(['Table being dumped', p.currentTable]);
  facts.push([
    'Stored',
    p.stored
      ? `yes: the backup is complete (${o.location}/${p.dataKey}); what failed came after it`
      : p.dataKey && p.stage !== 'lock'
        ? 'nothing: no manifest was written, so this run left no backup (its partial data object is removed)'
        : 'nothing: the run stopped before writing anything',
  ]);
  facts.push(['Newest good backup', previousText(p, o.now)]);
  return {
    title: `Backup${set ? ` of ${set}` : ''} failed`,
    status: 'failure',
    headline: describeError(err),
    facts,
    tables: [],
  };
}

export const backupCommand: Command = {
  spec: backupSpec,
  streaming: true,
  classifyFailure: classifyBackupFailure,
  async run(get, ctx): Promise<CommandResult> {
    const { config, destination, replica } = readBackupConfig(get);
    const heartbeat = readHeartbeat(get);
    const storage = storageFor(destination);
    if (heartbeat) await sendHeartbeat(heartbeat, 'start', { log: ctx.log });
    const progress = newBackupProgress();
    const startedAt = new Date();
    let r: BackupResult;
    try {
      r = await runBackup(config, {
        storage,
        log: ctx.log,
        signal: ctx.signal,
        replica: replica ? { storage: storageFor(replica), prefix: replica.destination.prefix } : undefined,
        pgClientInstaller: ctx.pgClientInstaller,
        tempDir: process.env.RUNNER_TEMP || undefined,
        progressIntervalMs: progressIntervalMs(),
        progress,
      });
    } catch (err) {
      const name = progress.name ?? config.name;
      // Reached the storage but failed later (e.g. the database is down): the last good backup is worth a look.
      if (!progress.previous && name && progress.stage !== 'preflight' && !ctx.signal.aborted) {
        await lookUpPrevious(progress, storage, config, name, ctx.signal);
      }
      throw attachReport(
        err,
        backupFailureReport(err, progress, { name, location: storage.location, now: new Date(), startedAt }),
      );
    }
    const m = r.manifest;
    return {
      outputs: {
        key: m.object.key,
        'manifest-key': r.manifestKey,
        size: m.object.size,
        sha256: m.object.sha256,
        'duration-seconds': Math.round(r.durationSeconds * 10) / 10,
        'created-at': m.createdAt,
        name: m.name,
        tables: m.totals.tables,
        rows: m.totals.rows,
        'replica-key': r.replica?.dataKey ?? '',
        'replica-manifest-key': r.replica?.manifestKey ?? '',
      },
      failure: r.replicaError?.message,
      failureKind: r.replicaError ? 'replica' : undefined,
      report: backupReport(r, config.objectLock),
    };
  },
};

/** The set's newest authenticated backup, looked up with the keys this job signs with, into `progress`. */
async function lookUpPrevious(
  progress: BackupProgress,
  storage: ReturnType<typeof storageFor>,
  config: BackupConfig,
  name: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    const signer = await openSigner(config.signer, signal);
    try {
      progress.previous = await findPreviousBackup(storage, config.prefix, name, await signer.authKeys(), signal);
      progress.previousLookedUp = true;
    } finally {
      await signer.close();
    }
  } catch {
    // Unknown stays unknown: the summary says so rather than "none".
  }
}
