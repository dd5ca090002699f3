/**
 * The prune use case: read the whole catalog of one backup set, decide with the retention policy, then
 * delete what no rule keeps and the data objects of interrupted runs — or, in a dry run, only say so.
 *
 * Safety:
 * - Nothing is deleted unless every page of the listing was read (readCatalog → Storage.list throws).
 * - Only keys of the layout, of this set, that the catalog classified are ever deleted. Objects outside the
 *   layout, other sets, broken manifests and manifests that do not authenticate (and their data) are never
 *   touched, and unauthenticated backups never fill a retention slot: retention sees authenticated ones only.
 * - Manifests go first, in requests of their own; a data object goes only after its manifest went. An
 *   interruption in between leaves a data object without manifest: an incomplete object a later run collects.
 *   Authenticators go last; one left alone by an interruption is collected by a later run, after the same
 *   min-age as incomplete objects.
 * - Objects that Object Lock retains are skipped with a warning; any other per-key failure fails the run.
 */
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { type Backup, type IncompleteBackup, readCatalog } from './catalog.js';
import { authenticatorKeyFor, parseKey } from './layout.js';
import { type AuthKeys, manifestVerifier } from './manifest-auth.js';
import { applyRetention, type RetentionDecision, type RetentionPolicy, validatePolicy } from './retention.js';
import { DeleteError, type Storage } from './storage/index.js';

export interface PruneConfig {
  /** Storage-relative prefix of the destination. */
  prefix: string;
  name: string;
  policy: RetentionPolicy;
  dryRun: boolean;
  /** A data object without manifest is garbage once both its key time and its lastModified are this old. */
  minAgeIncompleteSeconds: number;
  /** The keys that authenticate manifests (at least one). */
  authKeys: AuthKeys;
}

export interface PruneDeps {
  storage: Storage;
  log: Logger;
  now?: () => Date;
  /** Checked before each delete phase: a cancelled run stops between phases, never inside a pair. */
  signal?: AbortSignal;
}

export interface IncompleteDecision {
  item: IncompleteBackup;
  /** 'delete' when older than min-age-incomplete; 'keep' while a backup might still be writing it. */
  action: 'delete' | 'keep';
  /** Seconds since the later of the key's time and the object's lastModified. */
  ageSeconds: number;
}

export interface LockedObject {
  key: string;
  code: string;
  message: string;
}

export interface PruneResult {
  location: string;
  dryRun: boolean;
  decisions: RetentionDecision<Backup>[];
  incomplete: IncompleteDecision[];
  broken: Array<{ manifestKey: string; reason: string }>;
  /** Manifests that did not authenticate: left alone, reported. */
  unauthenticated: Array<{ manifestKey: string; reason: string }>;
  /** Keys deleted (in a dry run: that would be deleted): manifests first, then data objects, then authenticators. */
  deletedKeys: string[];
  /** Backups deleted (manifest and data), or that would be. */
  deletedBackups: Backup[];
  /** Incomplete data objects deleted, or that would be. */
  incompleteDeleted: IncompleteBackup[];
  /** Authenticators left with neither manifest nor data (an interrupted prune) deleted, or that would be. */
  strayAuthenticatorsDeleted: string[];
  /** Objects Object Lock kept from being deleted (their backup stays, or stays incomplete). */
  locked: LockedObject[];
  warnings: string[];
}

/**
 * True when a per-key delete error says that Object Lock retains the object. AWS answers
 * `AccessDenied` "Access Denied because object protected by object lock."; MinIO (and gateways copying it)
 * `InvalidRequest` "Object is WORM protected and cannot be overwritten"; some servers `ObjectLocked`.
 * A bare AccessDenied (a missing permission) is not a lock and fails the run.
 */
export function isObjectLockError(code: string, message: string): boolean {
  if (/^ObjectLocked$/i.test(code)) return true;
  return (
    /object ?lock|worm|retention|legal ?hold|retain/i.test(message) &&
    /^(AccessDenied|InvalidRequest|ObjectLocked|Forbidden)$/i.test(code)
  );
}

/** Deletes keys; returns what went and what Object Lock retained; throws on any other per-key failure. */
async function deleteKeys(storage: Storage, keys: string[]): Promise<{ deleted: string[]; locked: LockedObject[] }> {
  if (keys.length === 0) return { deleted: [], locked: [] };
  try {
    return { deleted: (await storage.delete(keys)).deleted, locked: [] };
  } catch (err) {
    if (!(err instanceof DeleteError)) throw err;
    const locked = err.failed.filter((f) => isObjectLockError(f.code, f.message));
    const other = err.failed.filter((f) => !isObjectLockError(f.code, f.message));
    if (other.length) {
      throw new DeleteError(
        `could not delete ${other.length} object(s): ${other
          .slice(0, 5)
          .map((f) => `${f.key} (${f.code}: ${f.message})`)
          .join(', ')}${other.length > 5 ? ', …' : ''}`,
        err.deleted,
        err.failed,
      );
    }
    return { deleted: err.deleted, locked };
  }
}

export async function runPrune(config: PruneConfig, deps: PruneDeps): Promise<PruneResult> {
  validatePolicy(config.policy);
  const { storage, log } = deps;
  const now = (deps.now ?? (() => new Date()))();
  const verifier = await manifestVerifier(config.authKeys);
  if (!verifier)
    throw new Error('prune needs a key to authenticate backups (encryption-passphrase or signing-public-key)');
  const catalog = await log
    .group(`Listing ${storage.location}/${config.prefix ? `${config.prefix}/` : ''}${config.name}/`, async () => {
      const c = await readCatalog(storage, config.prefix, config.name, { verifier, signal: deps.signal });
      // Never: prune reads every manifest (no stopWhen); a partial catalog must not decide a deletion.
      if (c.partial) throw new Error('prune was given a partial catalog');
      log.info(
        `${c.backups.length} authenticated backup(s), ${c.incomplete.length} data object(s) without manifest, ` +
          `${c.broken.length} broken manifest(s), ${c.unauthenticated.length} manifest(s) that do not authenticate, ` +
          `${c.strayAuthenticators.length} stray authenticator(s), ` +
          `${c.objects.length} object(s) listed`,
      );
      return c;
    })
    .finally(() => verifier.close());
  const warnings: string[] = [];
  for (const b of catalog.broken) {
    warnings.push(`left alone: ${b.manifestKey} is not a valid manifest (${b.reason}); its data object is kept too`);
  }
  if (catalog.unauthenticated.length) {
    const first = catalog.unauthenticated[0] as (typeof catalog.unauthenticated)[number];
    warnings.push(
      `left alone: ${catalog.unauthenticated.length} manifest(s) that do not authenticate (checked with ${verifier.describe()}), e.g. ${first.manifestKey}: ${first.reason}. ` +
        'They count for no retention rule and are never deleted by prune; see docs/prune.md to remove them on purpose.',
    );
  }

  const decisions = applyRetention(catalog.backups, config.policy, now);
  const incomplete: IncompleteDecision[] = catalog.incomplete.map((item) => {
    const newest = Math.max(item.createdAt.getTime(), item.data.lastModified.getTime());
    const ageSeconds = Math.floor((now.getTime() - newest) / 1000);
    return { item, ageSeconds, action: ageSeconds >= config.minAgeIncompleteSeconds ? 'delete' : 'keep' };
  });

  const doomed = decisions.filter((d) => !d.keep).map((d) => d.backup);
  const garbage = incomplete.filter((i) => i.action === 'delete').map((i) => i.item);
  // A lone .sig goes by the same age rule as an incomplete data object.
  const strays = catalog.strayAuthenticators
    .filter((a) => {
      const parsed = parseKey(a.key, config.prefix);
      const newest = Math.max(parsed?.createdAt.getTime() ?? now.getTime(), a.lastModified.getTime());
      return Math.floor((now.getTime() - newest) / 1000) >= config.minAgeIncompleteSeconds;
    })
    .map((a) => a.key);
  // Defence in depth: every key must be of the layout, of this set, under this prefix.
  const garbageAuth = [...garbage.flatMap((g) => (g.authenticator ? [g.authenticator.key] : [])), ...strays];
  for (const key of [
    ...doomed.flatMap((b) => [b.manifestKey, b.data.key, authenticatorKeyFor(b.manifestKey)]),
    ...garbage.map((g) => g.data.key),
    ...garbageAuth,
  ]) {
    const parsed = parseKey(key, config.prefix);
    if (!parsed || parsed.name !== config.name)
      throw new Error(`refusing to delete ${key}: not a key of set '${config.name}'`);
  }

  const result: PruneResult = {
    location: storage.location,
    dryRun: config.dryRun,
    decisions,
    incomplete,
    broken: catalog.broken.map((b) => ({ manifestKey: b.manifestKey, reason: b.reason })),
    unauthenticated: catalog.unauthenticated.map((u) => ({ manifestKey: u.manifestKey, reason: u.reason })),
    deletedKeys: [],
    deletedBackups: [],
    incompleteDeleted: [],
    strayAuthenticatorsDeleted: [],
    locked: [],
    warnings,
  };

  if (config.dryRun) {
    result.deletedBackups = doomed;
    result.incompleteDeleted = garbage;
    result.strayAuthenticatorsDeleted = strays;
    result.deletedKeys = [
      ...doomed.map((b) => b.manifestKey),
      ...doomed.map((b) => b.data.key),
      ...garbage.map((g) => g.data.key),
      ...doomed.map((b) => authenticatorKeyFor(b.manifestKey)),
      ...garbageAuth,
    ];
    log.info(`dry run: would delete ${doomed.length} backup(s) and ${garbage.length} incomplete object(s)`);
    return result;
  }

  await log.group(`Deleting ${doomed.length} backup(s) and ${garbage.length} incomplete object(s)`, async () => {
    // 1. Manifests, on their own: a backup stops being a backup before its data goes.
    deps.signal?.throwIfAborted();
    let manifests: { deleted: string[]; locked: LockedObject[] };
    try {
      manifests = await deleteKeys(
        storage,
        doomed.map((b) => b.manifestKey),
      );
    } catch (err) {
      throw new Error(
        `deleting manifests failed; nothing else was deleted (data objects whose manifest did go are collected as incomplete by a later run): ${describeError(err)}`,
        { cause: err },
      );
    }
    const gone = new Set(manifests.deleted);
    result.deletedKeys.push(...manifests.deleted);
    result.locked.push(...manifests.locked);
    // 2. Data objects whose manifest went, and data objects of interrupted runs.
    deps.signal?.throwIfAborted();
    const goneBackups = doomed.filter((b) => gone.has(b.manifestKey));
    const data = await deleteKeys(storage, [...goneBackups.map((b) => b.data.key), ...garbage.map((g) => g.data.key)]);
    // 3. Their authenticators: nothing without a manifest acts on one, so they go last.
    const authKeys = [...goneBackups.map((b) => authenticatorKeyFor(b.manifestKey)), ...garbageAuth];
    const listed = new Set(catalog.objects.map((o) => o.key));
    const auth = await deleteKeys(
      storage,
      authKeys.filter((k) => listed.has(k)),
    );
    const dataGone = new Set(data.deleted);
    result.deletedKeys.push(...data.deleted, ...auth.deleted);
    result.locked.push(...data.locked, ...auth.locked);
    // A backup counts as deleted once its manifest went: it is no backup any more (a locked data object stays as incomplete).
    result.deletedBackups = goneBackups;
    result.incompleteDeleted = garbage.filter((g) => dataGone.has(g.data.key));
    const authGone = new Set(auth.deleted);
    result.strayAuthenticatorsDeleted = strays.filter((k) => authGone.has(k));
  });
  for (const l of result.locked) {
    warnings.push(`kept by Object Lock: ${l.key} (${l.code}: ${l.message})`);
  }
  log.info(
    `deleted ${result.deletedBackups.length} backup(s) and ${result.incompleteDeleted.length} incomplete object(s)`,
  );
  return result;
}
