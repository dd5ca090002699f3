/** The backup action: inputs → runBackup → outputs and a summary. */
import { type BackupConfig, runBackup } from '../core/backup.js';
import { type Compression, validateName } from '../core/layout.js';
import { checkCompressionSupported, DEFAULT_LEVEL, LEVEL_RANGE } from '../core/pipeline/compress.js';
import { parseDatabaseUrl } from '../core/postgres/connection.js';
import { parsePgVersion } from '../core/postgres/install.js';
import type { CommandResult } from '../core/report.js';
import { UserError } from '../util/errors.js';
import {
  formatBytes,
  formatDuration,
  formatRate,
  parseBoolean,
  parseChoice,
  parseDuration,
  parseIntInput,
} from '../util/units.js';
import { type Command, progressIntervalMs } from './command.js';
import {
  type DestinationConfig,
  type InputGetter,
  readDestination,
  readEncryption,
  readObjectLock,
  readReplica,
  readServerSideEncryption,
  secretInput,
  storageFor,
} from './inputs.js';

export function readBackupConfig(get: InputGetter): {
  config: BackupConfig;
  destination: ReturnType<typeof readDestination>;
  replica?: DestinationConfig;
} {
  const connection = parseDatabaseUrl(secretInput(get, 'database-url'));
  const base = readDestination(get);
  const destination = { ...base, s3: { ...base.s3, ...readServerSideEncryption(get) } };
  const replica = readReplica(get, destination);
  const objectLock = readObjectLock(get, replica ? [destination, replica] : [destination]);
  const pgVersion = parsePgVersion(get('pg-version'));
  const name = get('name') ? validateName(get('name')) : undefined;
  const format = get('format') ? parseChoice(get('format'), 'format', ['plain', 'custom'] as const) : 'plain';
  const compression: Compression = get('compression')
    ? parseChoice(get('compression'), 'compression', ['gzip', 'zstd', 'none'] as const)
    : 'gzip';
  if (format === 'plain') checkCompressionSupported(compression);
  let compressionLevel = DEFAULT_LEVEL[compression];
  if (get('compression-level')) {
    if (compression === 'none') throw new UserError(`'compression-level' has no effect with 'compression: none'`);
    const [min, max] = LEVEL_RANGE[compression];
    compressionLevel = parseIntInput(get('compression-level'), 'compression-level', { min, max });
  }
  const encryption = readEncryption(get);
  const verifyUpload = get('verify-upload') ? parseBoolean(get('verify-upload'), 'verify-upload') : true;
  const tableChecksums = get('table-checksums') ? parseBoolean(get('table-checksums'), 'table-checksums') : true;
  const pgBinDir = get('pg-bin-dir') || undefined;
  const lock = {
    ttlSeconds: parseDuration(get('lock-ttl') || '6h', 'lock-ttl'),
    waitSeconds: parseDuration(get('lock-wait') || '0s', 'lock-wait'),
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
      pgBinDir,
      verifyUpload,
      tableChecksums,
      lock,
      pgVersion,
      objectLock,
    },
  };
}

export const backupCommand: Command = {
  name: 'backup',
  description: 'dump a database, compress, encrypt and store it with a manifest',
  streaming: true,
  async run(get, ctx): Promise<CommandResult> {
    const { config, destination, replica } = readBackupConfig(get);
    const storage = storageFor(destination);
    const r = await runBackup(config, {
      storage,
      log: ctx.log,
      signal: ctx.signal,
      replica: replica ? { storage: storageFor(replica), prefix: replica.destination.prefix } : undefined,
      pgClientInstaller: ctx.pgClientInstaller,
      tempDir: process.env.RUNNER_TEMP || undefined,
      progressIntervalMs: progressIntervalMs(),
    });
    const m = r.manifest;
    const replicaFacts: Array<[string, string]> = r.replica
      ? [['Replica', `${r.replica.location}/${r.replica.dataKey} (read back, sha256 matches)`]]
      : r.replicaError
        ? [['Replica', `FAILED: ${r.replicaError.message}`]]
        : [];
    const lockFacts: Array<[string, string]> = config.objectLock
      ? [['Object Lock', `${config.objectLock.mode}, ${config.objectLock.days} day(s)`]]
      : [];
    const ratio = m.object.size > 0 ? m.dump.dumpSize / m.object.size : 0;
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
      report: {
        title: r.replicaError
          ? `Backup of ${m.dump.database} stored; the replica copy failed`
          : `Backup of ${m.dump.database} stored`,
        status: r.replicaError ? 'failure' : 'success',
        headline: `${formatBytes(m.object.size)} stored and verified in ${formatDuration(r.durationSeconds)}`,
        facts: [
          ['Database', `${m.dump.database} (PostgreSQL ${m.dump.serverVersion}, pg_dump ${m.dump.pgDumpVersion})`],
          ['Backup set', m.name],
          ['Snapshot time', m.createdAt],
          ['Object', `${r.location}/${m.object.key}`],
          ['Manifest', `${r.location}/${r.manifestKey}`],
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
          ['Dump size', formatBytes(m.dump.dumpSize)],
          ['Stored size', `${formatBytes(m.object.size)} (ratio ${ratio.toFixed(2)}×)`],
          ['Duration', `${formatDuration(r.durationSeconds)} (${formatRate(m.dump.dumpSize, r.durationSeconds)})`],
          ['SHA-256', m.object.sha256],
          ['Tables / rows', `${m.totals.tables} / ${m.totals.rows.toLocaleString('en-US')}`],
          ...lockFacts,
          ...replicaFacts,
        ],
        tables: [],
      },
    };
  },
};
