/** The backup action: inputs → runBackup → outputs and a summary. */
import { type BackupConfig, type EncryptionConfig, runBackup } from '../core/backup.js';
import {
  type DestinationConfig,
  type InputGetter,
  readDestination,
  readServerSideEncryption,
  secretInput,
  storageFor,
} from '../core/inputs.js';
import { parsePassphrases } from '../core/keys.js';
import { type Compression, validateName } from '../core/layout.js';
import { checkCompressionSupported, DEFAULT_LEVEL, LEVEL_RANGE } from '../core/pipeline/compress.js';
import { checkPassphrase } from '../core/pipeline/gpg.js';
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
import { actionsPgClientInstaller } from './pg-client.js';

/**
 * The key a backup encrypts with. `several: 'first'` (restore's pre-restore backup) accepts a rotation
 * list of passphrases, one per line, and encrypts with the first (the current one).
 */
export function readEncryption(get: InputGetter, several: 'refuse' | 'first' = 'refuse'): EncryptionConfig {
  const mode = get('encryption')
    ? parseChoice(get('encryption'), 'encryption', ['openpgp', 'none'] as const)
    : 'openpgp';
  const given = secretInput(get, 'encryption-passphrase');
  const passphrase = several === 'first' ? (parsePassphrases(given)[0] ?? '') : given;
  const publicKey = get('encryption-public-key');
  if (mode === 'none') {
    if (passphrase || publicKey) {
      throw new UserError(
        `'encryption: none' conflicts with the key given in 'encryption-${passphrase ? 'passphrase' : 'public-key'}'`,
      );
    }
    return { kind: 'none' };
  }
  if (passphrase && publicKey) {
    throw new UserError(`give either 'encryption-passphrase' or 'encryption-public-key', not both`);
  }
  if (passphrase) {
    checkPassphrase(passphrase, 'encryption-passphrase');
    return { kind: 'passphrase', passphrase };
  }
  if (publicKey) return { kind: 'public-key', armoredKey: publicKey };
  throw new UserError(
    `backups are encrypted: set 'encryption-passphrase' (a secret) or 'encryption-public-key' (an armored OpenPGP public key), ` +
      `or set 'encryption: none' to store them unencrypted`,
  );
}

/** `object-lock-days` / `object-lock-mode`: S3 Object Lock retention, refused for local directories. */
export function readObjectLock(get: InputGetter, destinations: DestinationConfig[]): BackupConfig['objectLock'] {
  const rawDays = get('object-lock-days');
  const rawMode = get('object-lock-mode');
  if (!rawDays) {
    if (rawMode) throw new UserError(`'object-lock-mode' needs 'object-lock-days'`);
    return undefined;
  }
  const days = parseIntInput(rawDays, 'object-lock-days', { min: 1, max: 36_500 });
  const mode = rawMode
    ? (parseChoice(rawMode, 'object-lock-mode', ['governance', 'compliance'] as const).toUpperCase() as
        | 'GOVERNANCE'
        | 'COMPLIANCE')
    : 'GOVERNANCE';
  for (const [i, d] of destinations.entries()) {
    if (d.destination.kind !== 's3') {
      throw new UserError(
        `'object-lock-days' needs S3 storage with Object Lock: '${i === 0 ? 'destination' : 'replica-destination'}' is a local directory (${d.destination.url}); remove 'object-lock-days' or use an s3:// destination`,
      );
    }
  }
  return { days, mode };
}

/** `replica-destination` (+ `replica-s3-*`): a second destination; the same `sse` applies to it. */
export function readReplica(get: InputGetter, primary: DestinationConfig): DestinationConfig | undefined {
  if (!get('replica-destination')) {
    for (const n of ['replica-s3-endpoint', 'replica-s3-region', 'replica-s3-force-path-style']) {
      if (get(n)) throw new UserError(`'${n}' is set but 'replica-destination' is not`);
    }
    return undefined;
  }
  const base = readDestination(get, 'replica-');
  const replica = { ...base, s3: { ...base.s3, ...readServerSideEncryption(get) } };
  if (replica.destination.url === primary.destination.url && replica.s3.endpoint === primary.s3.endpoint) {
    throw new UserError(`'replica-destination' must differ from 'destination' (both are ${primary.destination.url})`);
  }
  return replica;
}

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
  async run(get, ctx): Promise<CommandResult> {
    const { config, destination, replica } = readBackupConfig(get);
    const storage = storageFor(destination);
    const r = await runBackup(config, {
      storage,
      log: ctx.log,
      signal: ctx.signal,
      replica: replica ? { storage: storageFor(replica), prefix: replica.destination.prefix } : undefined,
      // Only the action installs a missing pg_dump (on GitHub's Linux runners); the CLI says what to run.
      pgClientInstaller: ctx.host === 'action' ? actionsPgClientInstaller : undefined,
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
