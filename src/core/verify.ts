/**
 * The verify use case: restore a backup into an isolated scratch database, check every table against
 * the manifest (row count and content checksum), measure RPO (backup age) and RTO (download + restore +
 * validate), and always drop the scratch database.
 */
import { DisposerStack } from '../util/disposer.js';
import { describeError, IntegrityError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { formatBytes, formatDuration, formatTime } from '../util/units.js';
import { type DecryptionConfig, prepareDecryption } from './backups/decrypt.js';
import { loadAndValidate, mismatchesOf, type TableCheck } from './backups/load.js';
import { type BackupSelector, type LocatedBackup, locateAuthenticated } from './backups/locate.js';
import type { Manifest } from './manifest.js';
import type { AuthKeys } from './manifest-auth.js';
import { GpgSession } from './pipeline/gpg.js';
import { describeConnection, type PgConnection } from './postgres/connection.js';
import type { PgClientInstaller, PgVersionRequest } from './postgres/install.js';
import { ServerSession, scratchDatabaseName } from './postgres/restore-tools.js';
import { tableLabel } from './postgres/stats.js';
import type { Storage } from './storage/index.js';

export interface VerifyConfig {
  /** The server where the scratch database is created (its database: where to connect). */
  connection: PgConnection;
  prefix: string;
  selector: BackupSelector;
  decryption: DecryptionConfig;
  /** The keys that authenticate manifests, and the one unauthenticated key the user chose to trust. */
  auth: { keys: AuthKeys; allowUnauthenticated?: string };
  jobs: number;
  keepDatabase: boolean;
  maxAgeSeconds: number;
  maxRestoreSeconds: number;
  pgBinDir?: string;
  tempDir?: string;
  pgVersion?: PgVersionRequest;
}

export interface VerifyDeps {
  /** Absent for a local backup file. */
  storage?: Storage;
  log: Logger;
  signal?: AbortSignal;
  now?: () => Date;
  /** Installs a missing psql/pg_restore (the action on GitHub's Linux runners); absent: say what to install. */
  pgClientInstaller?: PgClientInstaller;
  /** How often the restore logs its progress (default 10 s). */
  progressIntervalMs?: number;
}

export type FailureKind = IntegrityError['kind'] | 'rpo' | 'rto';

export interface VerifyOutcome {
  passed: boolean;
  /** The data object's key (or the selector when the backup was not found). */
  backupKey: string;
  label: string;
  manifest?: Manifest;
  backupAgeSeconds?: number;
  /** Download + restore + validate. */
  restoreSeconds?: number;
  /** Of which: download + decrypt + load into the scratch database (what a restore without checks takes). */
  loadSeconds?: number;
  /** Of which: reading every table back and comparing it with the manifest. */
  validateSeconds?: number;
  tables: TableCheck[];
  /** Every reason the verify failed, the most fundamental first. */
  failures: Array<{ kind: FailureKind; message: string }>;
  scratchDatabase?: string;
  keptDatabase: boolean;
  /** Newer objects `latest` passed over. */
  skipped: string[];
  /** Set when the backup did not authenticate and was used only because 'allow-unauthenticated' named it. */
  unauthenticated?: string;
  maxAgeSeconds: number;
  maxRestoreSeconds: number;
}

function selectorLabel(s: BackupSelector): string {
  return s.kind === 'latest' ? `latest${s.name ? ` of ${s.name}` : ''}` : s.kind === 'key' ? s.key : s.path;
}

async function openServer(connection: PgConnection): Promise<ServerSession> {
  try {
    return await ServerSession.open(connection);
  } catch (err) {
    throw new Error(`cannot connect to ${describeConnection(connection)}: ${describeError(err)}`, { cause: err });
  }
}

/** The scratch database's end: dropped, or kept for inspection with `keep-database` (unless cancelled). */
async function dropScratch(
  server: ServerSession,
  scratch: string,
  keep: boolean,
  outcome: VerifyOutcome,
  log: Logger,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) log.warn('cancelled: cleaning up');
  if (keep && !signal?.aborted) {
    outcome.keptDatabase = true;
    log.info(`keep-database: ${scratch} is kept; drop it with DROP DATABASE ${scratch}`);
    return;
  }
  try {
    await server.dropDatabase(scratch);
    log.info(`scratch database ${scratch} dropped`);
  } catch (err) {
    log.warn(`could not drop the scratch database ${scratch}: ${describeError(err)}; drop it by hand`);
  }
}

export async function verifyBackup(cfg: VerifyConfig, deps: VerifyDeps): Promise<VerifyOutcome> {
  const { log } = deps;
  const now = deps.now ?? (() => new Date());
  const outcome: VerifyOutcome = {
    passed: false,
    backupKey: selectorLabel(cfg.selector),
    label: selectorLabel(cfg.selector),
    tables: [],
    failures: [],
    keptDatabase: false,
    skipped: [],
    maxAgeSeconds: cfg.maxAgeSeconds,
    maxRestoreSeconds: cfg.maxRestoreSeconds,
  };
  const fail = (err: unknown): VerifyOutcome => {
    if (!(err instanceof IntegrityError)) throw err;
    outcome.failures.unshift({ kind: err.kind, message: err.message });
    return outcome;
  };

  let b: LocatedBackup;
  try {
    b = await log.group('Find the backup', async () => {
      log.info(`looking for ${selectorLabel(cfg.selector)}${deps.storage ? ` in ${deps.storage.location}` : ''}`);
      const found = await locateAuthenticated(deps.storage, cfg.prefix, cfg.selector, {
        ...cfg.auth,
        signal: deps.signal,
      });
      const fm = found.manifest;
      log.info(
        `found ${found.label}: taken ${formatTime(fm.createdAt)}, ${formatBytes(fm.object.size)} stored, ${fm.totals.tables} tables, ${fm.totals.rows.toLocaleString('en-US')} rows`,
      );
      return found;
    });
  } catch (err) {
    return fail(err);
  }
  const m = b.manifest;
  Object.assign(outcome, { backupKey: b.dataKey, label: b.label, manifest: m, skipped: b.skipped });
  outcome.backupAgeSeconds = Math.max(0, (now().getTime() - Date.parse(m.createdAt)) / 1000);
  log.info(`backup age: ${formatDuration(outcome.backupAgeSeconds)} (max-age ${formatDuration(cfg.maxAgeSeconds)})`);
  for (const s of b.skipped) log.warn(`skipped a newer object that is not a usable backup: ${s}`);
  if (b.unauthenticated) {
    outcome.unauthenticated = b.unauthenticated;
    log.warn(
      `USING AN UNAUTHENTICATED BACKUP because 'allow-unauthenticated' names it: ${b.label} (${b.unauthenticated}). Nothing proves it was written by your backup job.`,
    );
  }
  if (outcome.backupAgeSeconds > cfg.maxAgeSeconds) {
    outcome.failures.push({
      kind: 'rpo',
      message: `RPO target missed: the backup is ${formatDuration(outcome.backupAgeSeconds)} old, 'max-age' is ${formatDuration(cfg.maxAgeSeconds)}`,
    });
  }

  return DisposerStack.run(async (stack) => {
    const gpg = m.encryption.scheme === 'none' ? undefined : stack.use(await GpgSession.create(), (g) => g.close());
    let gpgPassphrase: string | undefined;
    try {
      gpgPassphrase = await prepareDecryption(m, cfg.decryption, gpg);
    } catch (err) {
      return fail(err);
    }
    const server = stack.use(await openServer(cfg.connection), (s) => s.close());
    const scratch = scratchDatabaseName('verify', m.name, now());
    stack.defer(() => dropScratch(server, scratch, cfg.keepDatabase, outcome, log, deps.signal));
    await server.createDatabase(scratch);
    outcome.scratchDatabase = scratch;
    log.info(
      `scratch database: ${scratch} on ${describeConnection(cfg.connection, scratch)} (PostgreSQL ${server.major})`,
    );
    const t0 = Date.now();
    try {
      const { checks, loadSeconds, validateSeconds } = await loadAndValidate(
        b,
        scratch,
        {
          connection: cfg.connection,
          jobs: cfg.jobs,
          pgBinDir: cfg.pgBinDir,
          tempDir: cfg.tempDir,
          portable: true,
          progressIntervalMs: deps.progressIntervalMs,
          serverMajor: server.major,
          pgVersion: cfg.pgVersion,
          installer: deps.pgClientInstaller,
        },
        { log, signal: deps.signal, gpg, gpgPassphrase },
      );
      outcome.tables = checks;
      outcome.loadSeconds = loadSeconds;
      outcome.validateSeconds = validateSeconds;
    } catch (err) {
      return fail(err);
    } finally {
      outcome.restoreSeconds = (Date.now() - t0) / 1000;
    }
    const bad = mismatchesOf(outcome.tables);
    if (bad.length) {
      outcome.failures.unshift({
        kind: 'table-mismatch',
        message: `${bad.length} of ${outcome.tables.length} tables do not match the manifest: ${bad
          .slice(0, 5)
          .map((c) => `${tableLabel(c)} (${c.problem})`)
          .join(', ')}${bad.length > 5 ? ', …' : ''}`,
      });
    }
    if (outcome.restoreSeconds > cfg.maxRestoreSeconds) {
      outcome.failures.push({
        kind: 'rto',
        message: `RTO target missed: download, restore and validation took ${formatDuration(outcome.restoreSeconds)}, 'max-restore-time' is ${formatDuration(cfg.maxRestoreSeconds)}`,
      });
    }
    outcome.passed = outcome.failures.length === 0;
    return outcome;
  });
}
