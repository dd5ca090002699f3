/**
 * What a destination holds: every backup set's backups (a data object with a valid manifest), the data
 * objects without a manifest (interrupted runs), and manifests that do not parse. Reads every page of the
 * listing; prune, verify, restore and monitor all see the destination through this one function.
 */
import { describeError, IntegrityError } from '../util/errors.js';
import { DATA_EXTENSIONS, type DataExtension, type ParsedKey, parseKey, setPrefix } from './layout.js';
import { type Manifest, parseManifest } from './manifest.js';
import {
  type AuthVerdict,
  MAX_AUTHENTICATOR_BYTES,
  MAX_MANIFEST_BYTES,
  type ManifestVerifier,
  readCapped,
  TooLargeError,
} from './manifest-auth.js';
import type { ObjectInfo, Storage } from './storage/index.js';

export interface Backup {
  name: string;
  manifest: Manifest;
  manifestKey: string;
  /** The data object as listed (size and time from the storage). */
  data: ObjectInfo;
  createdAt: Date;
}

export interface IncompleteBackup {
  name: string;
  data: ObjectInfo;
  ext: DataExtension;
  /** From the key. */
  createdAt: Date;
  /** The authenticator the interrupted run wrote before it could write the manifest, if any. */
  authenticator?: ObjectInfo;
}

export interface BrokenManifest {
  name: string;
  manifestKey: string;
  reason: string;
  /** Set when the only problem is the data object's size: what it holds vs what the manifest says. */
  size?: { actual: number; expected: number };
}

/**
 * A manifest that did not authenticate (planted, edited, re-dated, replayed, or written before
 * authentication existed). Never restored, never in retention, never deleted by default: only reported.
 * `manifest` is what it claims, parsed but untrusted (set only when it parses).
 */
export interface UnauthenticatedBackup {
  name: string;
  manifestKey: string;
  /** The time in its key. */
  createdAt: Date;
  reason: string;
  /** True when it has no authenticator at all (e.g. written by a version before authentication). */
  legacy: boolean;
  manifest?: Manifest;
  data?: ObjectInfo;
}

export interface Catalog {
  /** Authenticated backups whose manifest matches their data object, newest first (createdAt, then key). */
  backups: Backup[];
  /** Data objects with no manifest beside them (interrupted runs). */
  incomplete: IncompleteBackup[];
  /** Authenticated manifests that do not parse or do not match their data object. */
  broken: BrokenManifest[];
  /** Manifests that did not authenticate: acted on by nothing, reported by everything. */
  unauthenticated: UnauthenticatedBackup[];
  /**
   * Authenticators with neither a manifest nor a data object beside them: what a prune interrupted between
   * deleting a backup's data and its .sig leaves (a backup writes its data before its .sig). Garbage.
   */
  strayAuthenticators: ObjectInfo[];
  /** Every object listed under the set prefix(es), of the layout or not. */
  objects: ObjectInfo[];
  /** True when `stopWhen` ended the reading early: older manifests were not read (see CatalogOptions). */
  partial?: boolean;
}

/** Listings are held in memory: past this many objects the catalog refuses rather than exhaust the job. */
export const MAX_LISTED_OBJECTS = 2_000_000;

export interface CatalogOptions {
  /**
   * Checks each manifest's authenticator. `null`: this job holds no key, so nothing authenticates (every
   * manifest is reported as unauthenticated and nothing is acted on).
   */
  verifier: ManifestVerifier | null;
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * Reads newest first and stops starting new reads once an authenticated backup satisfies this: for a
   * lookup of the newest backup (one manifest read and checked, not the whole set's, each costing a GET
   * and with OpenPGP a gpg process). The catalog is then `partial`: never a basis for deleting anything.
   */
  stopWhen?: (backup: Backup) => boolean;
}

type Entry = { info: ObjectInfo; parsed: ParsedKey };

/**
 * Lists backups under `prefix`, for one set (`name`) or all sets. Manifests and their authenticators are
 * read concurrently (`concurrency` at a time), each capped in size, and authenticated before they are parsed.
 */
export async function readCatalog(
  storage: Storage,
  prefix: string,
  name: string | undefined,
  options: CatalogOptions,
): Promise<Catalog> {
  const listPrefix = name ? setPrefix(prefix, name) : prefix ? `${prefix.replace(/\/+$/, '')}/` : '';
  const objects = await storage.list(listPrefix);
  if (objects.length > MAX_LISTED_OBJECTS) {
    throw new IntegrityError(
      `${listPrefix || 'the destination'} holds ${objects.length} objects, more than the ${MAX_LISTED_OBJECTS} this reads: point 'destination' at the backups' own prefix`,
      'missing-manifest',
    );
  }
  const byStem = new Map<string, { data: Entry[]; manifest?: Entry; authenticator?: Entry }>();
  for (const info of objects) {
    const parsed = parseKey(info.key, prefix);
    if (!parsed || (name && parsed.name !== name)) continue;
    const entry = byStem.get(parsed.stem) ?? { data: [] };
    if (parsed.kind === 'manifest') entry.manifest = { info, parsed };
    else if (parsed.kind === 'authenticator') entry.authenticator = { info, parsed };
    else entry.data.push({ info, parsed });
    byStem.set(parsed.stem, entry);
  }
  const backups: Backup[] = [];
  const incomplete: IncompleteBackup[] = [];
  const broken: BrokenManifest[] = [];
  const unauthenticated: UnauthenticatedBackup[] = [];
  const strayAuthenticators: ObjectInfo[] = [];
  // Newest first (the stem ends in the UTC time): a `stopWhen` lookup reads as few as it can.
  const entries = [...byStem.entries()].sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0)).map(([, e]) => e);
  const concurrency = options.concurrency ?? (options.stopWhen ? 2 : 8);
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (next < entries.length && !stopped) {
      if (options.signal?.aborted) throw options.signal.reason;
      const e = entries[next++] as (typeof entries)[number];
      const m = e.manifest;
      if (!m) {
        if (!e.data.length && e.authenticator) strayAuthenticators.push(e.authenticator.info);
        // Interrupted runs: data (and maybe the authenticator) but no manifest, the commit point.
        for (const d of e.data) {
          incomplete.push({
            name: d.parsed.name,
            data: d.info,
            ext: d.parsed.ext as DataExtension,
            createdAt: d.parsed.createdAt,
            ...(e.authenticator ? { authenticator: e.authenticator.info } : {}),
          });
        }
        continue;
      }
      const untrusted = (reason: string, legacy: boolean, bytes?: Buffer): void => {
        let manifest: Manifest | undefined;
        try {
          if (bytes) manifest = parseManifest(bytes);
        } catch {
          manifest = undefined;
        }
        const data = manifest ? e.data.find((d) => d.info.key === manifest?.object.key)?.info : undefined;
        unauthenticated.push({
          name: m.parsed.name,
          manifestKey: m.info.key,
          createdAt: m.parsed.createdAt,
          reason,
          legacy,
          ...(manifest ? { manifest } : {}),
          ...(data ? { data } : {}),
        });
      };
      let bytes: Buffer;
      try {
        bytes = await readCapped(storage, m.info.key, MAX_MANIFEST_BYTES, options.signal);
      } catch (err) {
        if (err instanceof TooLargeError) {
          untrusted(`the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`, false);
          continue;
        }
        throw err;
      }
      if (!e.authenticator) {
        untrusted('it has no authenticator (.sig): planted, or written before backups were authenticated', true, bytes);
        continue;
      }
      if (!options.verifier) {
        untrusted('this job holds no key to authenticate it', false, bytes);
        continue;
      }
      let verdict: AuthVerdict;
      try {
        const auth = await readCapped(storage, e.authenticator.info.key, MAX_AUTHENTICATOR_BYTES, options.signal);
        verdict = await options.verifier.verify(bytes, auth.toString('utf8'), options.signal);
      } catch (err) {
        if (!(err instanceof TooLargeError)) throw err;
        verdict = { ok: false, reason: 'its authenticator is too large' };
      }
      if (!verdict.ok) {
        untrusted(verdict.reason, false, bytes);
        continue;
      }
      let manifest: Manifest;
      try {
        manifest = parseManifest(bytes);
      } catch (err) {
        broken.push({ name: m.parsed.name, manifestKey: m.info.key, reason: describeError(err) });
        continue;
      }
      // Authentic, but is it this backup? A genuine manifest copied under another key or time is a replay.
      const replay = replayed(manifest, m.parsed);
      if (replay) {
        untrusted(replay, false, bytes);
        continue;
      }
      // Pick the data object the manifest names: a planted object with another extension cannot unseat it.
      const data = e.data.find((d) => d.info.key === manifest.object.key)?.info;
      const reason = mismatch(manifest, data);
      if (reason) {
        const sizeOnly = data !== undefined && reason === sizeMismatch(manifest, data);
        broken.push({
          name: m.parsed.name,
          manifestKey: m.info.key,
          reason,
          ...(sizeOnly && data ? { size: { actual: data.size, expected: manifest.object.size } } : {}),
        });
        continue;
      }
      const backup: Backup = {
        name: manifest.name,
        manifest,
        manifestKey: m.info.key,
        data: data as ObjectInfo,
        createdAt: new Date(manifest.createdAt),
      };
      backups.push(backup);
      if (options.stopWhen?.(backup)) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  backups.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.data.key < b.data.key ? 1 : -1));
  incomplete.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  unauthenticated.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  strayAuthenticators.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    backups,
    incomplete,
    broken,
    unauthenticated,
    strayAuthenticators,
    objects,
    ...(stopped && next < entries.length ? { partial: true } : {}),
  };
}

/** Why an authentic manifest is not the backup at this key (copied under another set, key or time), or null. */
function replayed(m: Manifest, key: ParsedKey): string | null {
  if (m.name !== key.name) return `it is the manifest of set '${m.name}', found under '${key.name}' (a copy)`;
  const dataExt = m.object.key.startsWith(`${key.stem}.`) ? m.object.key.slice(key.stem.length + 1) : '';
  if (!(DATA_EXTENSIONS as readonly string[]).includes(dataExt)) {
    return `it describes ${m.object.key}, not a backup at ${key.key} (a copy)`;
  }
  if (Math.floor(Date.parse(m.createdAt) / 1000) !== Math.floor(key.createdAt.getTime() / 1000)) {
    return `its createdAt ${m.createdAt} does not match the time in its key (re-dated)`;
  }
  return null;
}

/** Why a manifest does not describe the data object beside it, or null when it does. */
function mismatch(m: Manifest, data: ObjectInfo | undefined): string | null {
  if (!data) return `its data object ${m.object.key} is missing`;
  return sizeMismatch(m, data);
}

function sizeMismatch(m: Manifest, data: ObjectInfo): string | null {
  if (m.object.size === data.size) return null;
  return `the data object holds ${data.size} bytes, the manifest says ${m.object.size}`;
}
