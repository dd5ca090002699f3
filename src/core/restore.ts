/**
 * The restore use case: replace a live database with a backup without ever leaving it half-written.
 *
 *   refuse while sessions hold the target → (optional) back the target up → restore into a fresh
 *   database beside it → validate against the manifest → rename target → <target>_pre_restore_<stamp>,
 *   fresh → target.
 *
 * Until the two renames, the target is untouched; any failure drops the fresh database.
 */
import { DisposerStack } from '../util/disposer.js';
import { CancelledError, describeError, IntegrityError, UserError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { formatBytes, formatTime } from '../util/units.js';
import { type DecryptionConfig, prepareDecryption } from './backups/decrypt.js';
import { dumpAndStore, type EncryptionConfig } from './backups/dump.js';
import { loadAndValidate, mismatchesOf, type TableCheck } from './backups/load.js';
import { type BackupSelector, describeSelector, locateAuthenticated } from './backups/locate.js';
import { planStaging, type StagingPlan } from './backups/staging.js';
import type { Manifest } from './manifest.js';
import type { AuthKeys, SignerConfig } from './manifest-auth.js';
import { GpgSession } from './pipeline/gpg.js';
import { describeConnection, type PgConnection, pgSessionConfig } from './postgres/connection.js';
import type { PgClientInstaller, PgVersionRequest } from './postgres/install.js';
import {
  previousDatabaseName,
  ServerSession,
  type SessionCount,
  scratchDatabaseName,
} from './postgres/restore-tools.js';
import {
  type CreatedRoles,
  createMissingRoles,
  existingRoles,
  isPredefinedRole,
  roleRights,
} from './postgres/roles.js';
import { openStatsClient, tableLabel } from './postgres/stats.js';
import type { Storage } from './storage/index.js';

export interface RestoreConfig {
  /** The target: its database is the one replaced. */
  connection: PgConnection;
  prefix: string;
  selector: Exclude<BackupSelector, { kind: 'file' }>;
  /** `name`: when given, the backup's manifest must belong to this set (also with `backup: <key>`). */
  name?: string;
  decryption: DecryptionConfig;
  /** The keys that authenticate manifests, and the one unauthenticated key the user chose to trust. */
  auth: { keys: AuthKeys; allowUnauthenticated?: string };
  /** Encryption and authentication of the backup of the current target taken first; null: no such backup. */
  preRestoreBackup: { encryption: EncryptionConfig; signer: SignerConfig } | null;
  jobs: number;
  pgBinDir?: string;
  tempDir?: string;
  pgVersion?: PgVersionRequest;
  /** `create-roles`: missing (default) creates the roles the backup needs that the server lacks; none: not. */
  createRoles?: 'missing' | 'none';
}

export interface RestoreDeps {
  storage: Storage;
  log: Logger;
  signal?: AbortSignal;
  now?: () => Date;
  pgClientInstaller?: PgClientInstaller;
  /** How often the restore logs its progress (default 10 s). */
  progressIntervalMs?: number;
}

export interface RestoreResult {
  manifest: Manifest;
  restoredKey: string;
  label: string;
  target: string;
  /** Where the replaced database now lives; null when the target did not exist. */
  previousDatabase: string | null;
  preRestoreBackupKey: string | null;
  dataLossWindowSeconds: number;
  restoreSeconds: number;
  tables: TableCheck[];
  /** Roles created for the backup (NOLOGIN, no password), and privileged attributes they did not get. */
  createdRoles: CreatedRoles;
  /** The temporary file a parallel pg_restore needed (custom format, jobs > 1); null when streamed. */
  staging: StagingPlan | null;
}

/** The name of the backup set that pre-restore backups of set `name` go to. */
export function preRestoreSetName(name: string): string {
  return `${name.slice(0, 88)}-pre-restore`;
}

export function describeSessions(sessions: SessionCount[]): string {
  return sessions.map((s) => `${s.applicationName}: ${s.count}`).join(', ');
}

function refuseSessions(target: string, sessions: SessionCount[]): UserError {
  const total = sessions.reduce((a, s) => a + s.count, 0);
  return new UserError(
    `${total} other session${total === 1 ? ' is' : 's are'} connected to ${target} (${describeSessions(sessions)}): stop the application and any other writers, then run the restore again. Nothing was changed.`,
  );
}

/** A session on the server that is not on the target: the target itself cannot be renamed while we sit in it. */
async function openControl(conn: PgConnection, target: string): Promise<ServerSession> {
  let lastErr: unknown;
  for (const db of ['postgres', 'template1']) {
    if (db === target) continue;
    try {
      return await ServerSession.open(conn, db);
    } catch (err) {
      lastErr = err;
      if ((err as { code?: string }).code !== '3D000') break; // only "database does not exist" moves on
    }
  }
  throw new Error(`cannot connect to ${describeConnection(conn, 'postgres')}: ${describeError(lastErr)}`, {
    cause: lastErr,
  });
}

export async function runRestore(cfg: RestoreConfig, deps: RestoreDeps): Promise<RestoreResult> {
  const { log, storage } = deps;
  const now = deps.now ?? (() => new Date());
  const target = cfg.connection.database;
  if (!target) throw new UserError(`'database-url' must name the target database`);
  const started = Date.now();

  return DisposerStack.run(async (stack) => {
    const server = stack.use(await openControl(cfg.connection, target), (s) => s.close());
    const targetExists = await server.exists(target);
    const sessions = targetExists ? await server.sessionsOn(target) : [];
    if (sessions.length) throw refuseSessions(target, sessions);
    log.info(
      targetExists
        ? `target: ${describeConnection(cfg.connection)} (PostgreSQL ${server.major}), no other sessions`
        : `target: ${target} does not exist on ${describeConnection(cfg.connection)}: it will be created`,
    );

    const b = await log.group('Find the backup', async () => {
      log.info(`looking for ${describeSelector(cfg.selector)}${storage ? ` in ${storage.location}` : ''}`);
      const found = await locateAuthenticated(storage, cfg.prefix, cfg.selector, { ...cfg.auth, signal: deps.signal });
      const fm = found.manifest;
      log.info(
        `found ${found.label}: taken ${formatTime(fm.createdAt)}, ${formatBytes(fm.object.size)} stored, ${fm.totals.tables} tables, ${fm.totals.rows.toLocaleString('en-US')} rows`,
      );
      return found;
    });
    if (b.unauthenticated) {
      log.warn(
        `RESTORING AN UNAUTHENTICATED BACKUP because 'allow-unauthenticated' names it: ${b.label} (${b.unauthenticated}). Nothing proves it was written by your backup job.`,
      );
    }
    const m = b.manifest;
    if (cfg.name !== undefined && m.name !== cfg.name) {
      throw new UserError(
        `'backup': ${b.label} belongs to the backup set '${m.name}' (its manifest says so), not to 'name: ${cfg.name}': nothing was changed`,
      );
    }
    for (const s of b.skipped) log.warn(`skipped a newer object that is not a usable backup: ${s}`);
    // Before the pre-restore backup: a parallel restore of a custom archive needs room for it in the temp dir.
    const staging = await planStaging(m, cfg.jobs, cfg.tempDir);
    const gpg = m.encryption.scheme === 'none' ? undefined : stack.use(await GpgSession.create(), (g) => g.close());
    const gpgPassphrase = await prepareDecryption(m, cfg.decryption, gpg);

    let preRestoreBackupKey: string | null = null;
    if (cfg.preRestoreBackup && targetExists) {
      const { encryption, signer } = cfg.preRestoreBackup;
      const r = await log.group(`Back up the current ${target} first`, async () => {
        await storage.probe();
        return DisposerStack.run((own) =>
          dumpAndStore(
            {
              connection: { ...cfg.connection, database: target },
              prefix: cfg.prefix,
              name: preRestoreSetName(m.name),
              format: 'plain',
              compression: 'gzip',
              compressionLevel: 6,
              encryption,
              signer,
              pgBinDir: cfg.pgBinDir,
              pgVersion: cfg.pgVersion,
              verifyUpload: true,
            },
            { storage, log, signal: deps.signal, now, pgClientInstaller: deps.pgClientInstaller, tempDir: cfg.tempDir },
            own,
          ),
        );
      });
      preRestoreBackupKey = r.manifest.object.key;
      log.info(`pre-restore backup: ${r.location}/${preRestoreBackupKey}`);
    } else if (cfg.preRestoreBackup) {
      log.info('pre-restore backup skipped: the target does not exist');
    } else {
      log.warn('pre-restore-backup: false — the current data is kept only as the renamed database');
    }

    const fresh = scratchDatabaseName('restore', target, now());
    // Dropped at the end unless it became the target.
    let swapped = false;
    stack.defer(async () => {
      if (swapped) return;
      try {
        if (await server.dropDatabase(fresh)) log.info(`dropped ${fresh}; ${target} is unchanged`);
      } catch (err) {
        log.warn(`could not drop ${fresh}: ${describeError(err)}; drop it by hand`);
      }
    });
    const createdRoles = await log.group('Roles', () => ensureRoles(server, m, cfg.createRoles ?? 'missing', log));
    await server.createDatabase(fresh, targetExists ? target : undefined);
    log.info(`restoring into the fresh database ${fresh}`);
    const t0 = Date.now();
    const { checks } = await loadAndValidate(
      b,
      fresh,
      {
        connection: cfg.connection,
        jobs: cfg.jobs,
        pgBinDir: cfg.pgBinDir,
        tempDir: cfg.tempDir,
        portable: false,
        serverMajor: server.major,
        pgVersion: cfg.pgVersion,
        installer: deps.pgClientInstaller,
        progressIntervalMs: deps.progressIntervalMs,
      },
      { log, signal: deps.signal, gpg, gpgPassphrase },
    );
    const bad = mismatchesOf(checks);
    if (bad.length) {
      throw new IntegrityError(
        `the restored copy does not match the manifest (${bad.map((c) => `${tableLabel(c)}: ${c.problem}`).join('; ')}); ${target} was not touched`,
        'table-mismatch',
      );
    }
    // Fresh statistics, so the application's first queries get sensible plans.
    const stats = await openStatsClient(pgSessionConfig(cfg.connection, fresh));
    try {
      await stats.query('ANALYZE');
    } finally {
      await stats.end().catch(() => {});
    }
    log.info(`restored and validated in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    if (deps.signal?.aborted) throw deps.signal.reason ?? new CancelledError('cancelled');

    let previous: string | null = null;
    await log.group(`Swap ${fresh} in as ${target}`, async () => {
      if (targetExists) {
        const late = await server.sessionsOn(target);
        if (late.length) throw refuseSessions(target, late);
        previous = previousDatabaseName(target, now());
        // Fails, changing nothing, if a session connected in the meantime.
        await server.renameDatabase(target, previous);
        try {
          await server.renameDatabase(fresh, target);
        } catch (err) {
          await server.renameDatabase(previous, target).catch((e) => {
            log.warn(`could not rename ${previous} back to ${target}: ${describeError(e)}`);
          });
          throw err;
        }
        log.info(`${target} → ${previous}; ${fresh} → ${target}`);
      } else {
        await server.renameDatabase(fresh, target);
        log.info(`${fresh} → ${target}`);
      }
    });
    swapped = true;
    return {
      manifest: m,
      restoredKey: b.dataKey,
      label: b.label,
      target,
      previousDatabase: previous,
      preRestoreBackupKey,
      dataLossWindowSeconds: Math.max(0, (now().getTime() - Date.parse(m.createdAt)) / 1000),
      restoreSeconds: (Date.now() - started) / 1000,
      tables: checks,
      createdRoles,
      staging,
    };
  });
}

/**
 * create-roles: missing creates the roles the backup needs that the server lacks (NOLOGIN, no password:
 * set passwords and privileged attributes afterwards) and never alters an existing role. A role that is
 * missing and cannot be created stops the restore here, before anything is loaded.
 */
async function ensureRoles(
  server: ServerSession,
  m: Manifest,
  mode: 'missing' | 'none',
  log: Logger,
): Promise<CreatedRoles> {
  const none: CreatedRoles = { created: [], memberships: [], withheld: [] };
  const needed = m.contents?.roles?.filter((r) => !isPredefinedRole(r.name));
  if (!needed) {
    log.info('the backup records no roles: the roles its objects belong to must exist on this server');
    return none;
  }
  const present = await existingRoles(
    server.client,
    needed.map((r) => r.name),
  );
  const missing = needed.filter((r) => !present.has(r.name)).map((r) => r.name);
  if (!missing.length) {
    log.info(`all ${needed.length} roles the backup needs exist: ${needed.map((r) => r.name).join(', ') || 'none'}`);
    return none;
  }
  if (mode === 'none') {
    log.warn(
      `create-roles: none — roles the backup needs are missing: ${missing.join(', ')}; the restore will fail on them`,
    );
    return none;
  }
  const rights = await roleRights(server.client);
  if (!rights.createRole) {
    throw new UserError(
      `the backup needs roles this server lacks (${missing.join(', ')}) and the role ${rights.user} cannot create them (no CREATEROLE): create them first, or restore as a role that may ('create-roles'); nothing was changed`,
    );
  }
  const created = await createMissingRoles(server.client, needed);
  log.info(
    `created ${created.created.length} roles (NOLOGIN, no password): ${created.created.join(', ')}; set passwords (ALTER ROLE … LOGIN PASSWORD …) for those that log in`,
  );
  if (created.memberships.length) log.info(`memberships granted: ${created.memberships.join(', ')}`);
  for (const w of created.withheld)
    log.warn(`role ${w.role} has ${w.attributes.join(', ')} in production: not given here`);
  return created;
}
