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
import { loadAndValidate, majorOf, mismatchesOf, type TableCheck, validateContents } from './backups/load.js';
import { type BackupSelector, type LocatedBackup, locateAuthenticated } from './backups/locate.js';
import { planStaging, type StagingPlan } from './backups/staging.js';
import type { Manifest } from './manifest.js';
import type { AuthKeys } from './manifest-auth.js';
import { GpgSession } from './pipeline/gpg.js';
import { describeConnection, type PgConnection, pgSessionConfig } from './postgres/connection.js';
import type { ContentsCheck } from './postgres/contents.js';
import type { PgClientInstaller, PgVersionRequest } from './postgres/install.js';
import { ServerSession, scratchDatabaseName } from './postgres/restore-tools.js';
import {
  createMissingRoles,
  dropRoles,
  type RelationOwner,
  relationOwners,
  roleRights,
  unexpectedOwners,
} from './postgres/roles.js';
import { connectClient } from './postgres/session.js';
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

/**
 * `unverifiable`: the scratch server cannot hold this backup (an older major, a missing extension), so
 * nothing was restored: the backup was not found bad, only not checked.
 */
export type FailureKind = IntegrityError['kind'] | 'rpo' | 'rto' | 'owners' | 'contents-mismatch' | 'unverifiable';

/** How verify dealt with the backup's roles. */
export interface VerifyRoles {
  /** owners: restored with owners and grants as in production; portable: without them (`note` says why). */
  mode: 'owners' | 'portable';
  /** Roles created in the scratch server for this verify (NOLOGIN), dropped afterwards unless kept. */
  created: string[];
  /** Why owners and grants were left out. */
  note?: string;
  /** Relations whose owner after the restore is not a role of the backup. */
  wrongOwners: RelationOwner[];
}

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
  /** Sequences, large objects, extensions and object counts compared; absent when the manifest has none. */
  contents?: ContentsCheck[];
  /** Remarks for the report (e.g. a backup from before contents checks). */
  notes: string[];
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
  roles?: VerifyRoles;
  /** The temporary file a parallel pg_restore needed (custom format, jobs > 1); absent when streamed. */
  staging?: StagingPlan;
}

function selectorLabel(s: BackupSelector): string {
  if (s.kind === 'latest') return `latest${s.name ? ` of ${s.name}` : ''}`;
  if (s.kind === 'before') return `newest before ${s.time.toISOString()}${s.name ? ` of ${s.name}` : ''}`;
  return s.kind === 'key' ? s.key : s.path;
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

/**
 * Decides how the backup's owners and grants are restored: as in production when the manifest lists the
 * roles and this role is a superuser (after creating the missing roles, NOLOGIN); otherwise without them.
 */
async function prepareRoles(server: ServerSession, m: Manifest, log: Logger): Promise<VerifyRoles> {
  const portable = (note: string): VerifyRoles => {
    log.warn(note);
    return { mode: 'portable', created: [], note, wrongOwners: [] };
  };
  const needed = m.contents?.roles;
  if (!needed) {
    return portable(
      'the backup records no roles (an older backup, or its role could not read them): restored without owners and grants, so they are not checked',
    );
  }
  const rights = await roleRights(server.client);
  if (!rights.superuser) {
    return portable(
      `the role ${rights.user} is not a superuser on the scratch server: restored without owners and grants (creating the backup's roles needs CREATEROLE, giving objects to them a superuser), so they are not checked`,
    );
  }
  const r = await createMissingRoles(server.client, needed);
  log.info(
    r.created.length
      ? `created ${r.created.length} roles the backup needs (NOLOGIN, no password; dropped afterwards): ${r.created.join(', ')}`
      : `all ${needed.length} roles the backup needs exist on the scratch server`,
  );
  if (r.memberships.length) log.info(`memberships granted: ${r.memberships.join(', ')}`);
  return { mode: 'owners', created: r.created, wrongOwners: [] };
}

/** Drops the roles this verify created, once the scratch database is gone (kept with keep-database). */
async function dropCreatedRoles(server: ServerSession, roles: VerifyRoles, outcome: VerifyOutcome, log: Logger) {
  if (!roles.created.length) return;
  if (outcome.keptDatabase) {
    log.info(`keep-database: the roles created for it are kept too: ${roles.created.join(', ')}`);
    return;
  }
  const failed = await dropRoles(server.client, roles.created);
  for (const f of failed) log.warn(`could not drop the role ${f.role} created for this verify: ${f.error}`);
  const dropped = roles.created.filter((n) => !failed.some((f) => f.role === n));
  if (dropped.length) log.info(`dropped the roles created for this verify: ${dropped.join(', ')}`);
}

/** Owners of the restored relations: each must be a role the manifest lists. */
async function checkOwners(connection: PgConnection, db: string, m: Manifest, log: Logger): Promise<RelationOwner[]> {
  const client = await connectClient(pgSessionConfig(connection, db));
  try {
    const owners = await relationOwners(client);
    const wrong = unexpectedOwners(owners, m.contents?.roles ?? []);
    if (!wrong.length) log.info(`owners: all ${owners.length} relations belong to roles of the backup`);
    for (const o of wrong) log.warn(`owner of ${o.schema}.${o.name}: ${o.owner}, not a role of the backup`);
    return wrong;
  } finally {
    await client.end().catch(() => {});
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
    notes: [],
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

  // Before anything is created: a parallel restore of a custom archive needs room for it in the temp dir.
  const staging = await planStaging(m, cfg.jobs, cfg.tempDir);
  if (staging) outcome.staging = staging;

  return DisposerStack.run(async (stack) => {
    const gpg = m.encryption.scheme === 'none' ? undefined : stack.use(await GpgSession.create(), (g) => g.close());
    let gpgPassphrase: string | undefined;
    try {
      gpgPassphrase = await prepareDecryption(m, cfg.decryption, gpg);
    } catch (err) {
      return fail(err);
    }
    const server = stack.use(await openServer(cfg.connection), (s) => s.close());
    const unfit = await log.group('Check the scratch server can hold the backup', () => scratchServerUnfit(m, server));
    if (unfit.length) {
      for (const message of unfit.reverse()) outcome.failures.unshift({ kind: 'unverifiable', message });
      return outcome;
    }
    const roles = await log.group('Roles', () => prepareRoles(server, m, log));
    outcome.roles = roles;
    // Deferred first so it runs last: after the scratch database (whose objects they own) is gone.
    stack.defer(() => dropCreatedRoles(server, roles, outcome, log));
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
          portable: roles.mode === 'portable',
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
      if (m.contents) {
        const t1 = Date.now();
        const c = await validateContents(cfg.connection, scratch, m.contents, { log, signal: deps.signal });
        outcome.validateSeconds += (Date.now() - t1) / 1000;
        outcome.contents = c.checks;
        outcome.notes.push(...c.notes);
      } else {
        outcome.notes.push(
          'This backup predates contents checks: its manifest records no sequences, large objects or object counts, so only its tables were compared.',
        );
      }
    } catch (err) {
      return fail(err);
    } finally {
      outcome.restoreSeconds = (Date.now() - t0) / 1000;
    }
    if (roles.mode === 'owners') {
      roles.wrongOwners = await checkOwners(cfg.connection, scratch, m, log);
      if (roles.wrongOwners.length) {
        outcome.failures.push({
          kind: 'owners',
          message: `${roles.wrongOwners.length} relations are not owned by a role of the backup after the restore: ${roles.wrongOwners
            .slice(0, 5)
            .map((o) => `${o.schema}.${o.name} (${o.owner})`)
            .join(', ')}${roles.wrongOwners.length > 5 ? ', …' : ''}`,
        });
      }
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
    const differ = (outcome.contents ?? []).filter((c) => c.problem !== null);
    if (differ.length) {
      outcome.failures.splice(bad.length ? 1 : 0, 0, {
        kind: 'contents-mismatch',
        message: `the restored copy differs from the manifest's contents: ${differ.map((c) => `${c.item} (${c.problem})`).join(', ')}`,
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

/** Why the scratch server cannot hold this backup (checked before anything is restored); empty when it can. */
async function scratchServerUnfit(m: Manifest, server: ServerSession): Promise<string[]> {
  const notBad = 'The backup was not found bad: it was not checked.';
  const out: string[] = [];
  const serverMajor = Math.floor(m.dump.serverVersionNum / 10000);
  const dumpMajor = majorOf(m.dump.pgDumpVersion);
  const need = Math.max(serverMajor, dumpMajor);
  if (server.major < need) {
    out.push(
      `unverifiable: the scratch server is PostgreSQL ${server.major}, older than the backup's server (${m.dump.serverVersion}) or pg_dump (${m.dump.pgDumpVersion}); a dump restores only into its major or a newer one. Verify on PostgreSQL ${need} or newer: restore-test.yml's 'postgres-image' (e.g. postgres:${need}), or a 'database-url' of such a server. ${notBad}`,
    );
  }
  const wanted = m.contents?.extensions ?? [];
  if (wanted.length) {
    const r = await server.client.query<{ name: string }>(
      'SELECT DISTINCT name FROM pg_catalog.pg_available_extension_versions WHERE name = ANY($1::text[])',
      [wanted.map((e) => e.name)],
    );
    const available = new Set(r.rows.map((row) => row.name));
    const missing = wanted.filter((e) => !available.has(e.name));
    if (missing.length) {
      out.push(
        `unverifiable: the scratch server lacks extension(s) the backup needs: ${missing.map((e) => `${e.name} ${e.version}`).join(', ')} (not in pg_available_extension_versions). Verify on a server that has them: restore-test.yml's 'postgres-image' (e.g. postgis/postgis:${need}-3.4 for PostGIS), or a 'database-url' of such a server. ${notBad}`,
      );
    }
  }
  return out;
}
