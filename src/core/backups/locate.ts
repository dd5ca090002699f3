/**
 * Finding a backup: the newest authenticated backup of a set (or the newest before a time), one named by its key, or a local file with its
 * manifest (and its authenticator) beside it. Either a backup whose manifest authenticated and matches its
 * object, or an error saying why there is none. A manifest that does not authenticate is never chosen; a
 * named one is used only with the explicit opt-in `allowUnauthenticated` (its exact key: backups written
 * before authentication existed), and the result says so.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { IntegrityError, UserError } from '../../util/errors.js';
import { type Backup, type BrokenManifest, readCatalog, type UnauthenticatedBackup } from '../catalog.js';
import { DATA_EXTENSIONS, manifestKeyFor, parseKey } from '../layout.js';
import { type Manifest, parseManifest } from '../manifest.js';
import {
  type AuthKeys,
  MAX_AUTHENTICATOR_BYTES,
  MAX_MANIFEST_BYTES,
  type ManifestVerifier,
  manifestVerifier,
  readCapped,
  TooLargeError,
} from '../manifest-auth.js';
import type { Storage } from '../storage/index.js';
import { LocalStorage } from '../storage/local.js';

export type BackupSelector =
  | { kind: 'latest'; name?: string }
  /** The newest authenticated backup whose snapshot time is strictly before `time` (corruption found late). */
  | { kind: 'before'; time: Date; name?: string }
  | { kind: 'key'; key: string }
  /** A local file with `<stem>.manifest.json` beside it. */
  | { kind: 'file'; path: string };

/** The selector in words, for logs: `latest of nightly`, a key, or a file path. */
export function describeSelector(s: BackupSelector): string {
  if (s.kind === 'latest') return `the latest backup${s.name ? ` of ${s.name}` : ''}`;
  if (s.kind === 'before') return `the newest backup before ${s.time.toISOString()}${s.name ? ` of ${s.name}` : ''}`;
  return s.kind === 'key' ? s.key : s.path;
}

/** A backup found and its manifest read; `storage` + `dataKey` reach the data object. */
export interface LocatedBackup {
  manifest: Manifest;
  manifestKey: string;
  dataKey: string;
  storage: Storage;
  /** For messages: `s3://bucket/key` or a path. */
  label: string;
  /** Newer backups that were skipped by `latest` (no manifest, not authenticated, or not matching). */
  skipped: string[];
  /** Set when this backup did not authenticate and was used only because `allowUnauthenticated` named it. */
  unauthenticated?: string;
}

/**
 * locateBackup with the keys a job holds: opens the verifier for the lookup and closes it afterwards.
 * Synthetic backups (pgdr synth) are refused: they hold no data.
 */
export async function locateAuthenticated(
  storage: Storage | undefined,
  prefix: string,
  selector: BackupSelector,
  auth: { keys: AuthKeys; allowUnauthenticated?: string; signal?: AbortSignal },
): Promise<LocatedBackup> {
  const verifier = (await manifestVerifier(auth.keys)) ?? null;
  try {
    const b = await locateBackup(storage, prefix, selector, {
      verifier,
      allowUnauthenticated: auth.allowUnauthenticated,
      signal: auth.signal,
    });
    if (b.manifest.synthetic) {
      throw new UserError(
        `${b.label} is a synthetic backup (made by pgdr synth for tests and rehearsals): it holds no data and is never restored`,
      );
    }
    return b;
  } finally {
    await verifier?.close();
  }
}

export interface LocateAuth {
  /** null: this job holds no key, so nothing authenticates. */
  verifier: ManifestVerifier | null;
  /** The exact object key of one unauthenticated backup the user chose to trust anyway. */
  allowUnauthenticated?: string;
  signal?: AbortSignal;
}

function unauthenticatedError(u: UnauthenticatedBackup, verifier: ManifestVerifier | null): IntegrityError {
  return new IntegrityError(
    `not authenticated: ${u.manifestKey} ${u.reason}${verifier ? ` (checked with ${verifier.describe()})` : ''}; it is not restored. ` +
      (u.legacy
        ? `If it is a backup written before backups were authenticated, name its data key in 'allow-unauthenticated' to use it once`
        : 'It may have been planted or edited by someone with write access to the storage'),
    'unauthenticated',
  );
}

function missingManifest(dataKey: string, manifestKey: string): IntegrityError {
  return new IntegrityError(
    `missing manifest: ${dataKey} has no ${manifestKey} beside it, so the backup never completed (or its manifest was deleted) and cannot be checked`,
    'missing-manifest',
  );
}

/** A manifest the catalog rejected because its object's size differs is a damaged object, not a bad manifest. */
function brokenError(key: string, broken: BrokenManifest): IntegrityError {
  const size = broken.size;
  if (size && size.actual < size.expected) {
    return new IntegrityError(
      `truncated: ${key} holds ${size.actual} bytes, its manifest says ${size.expected}`,
      'truncated',
    );
  }
  if (size) {
    return new IntegrityError(
      `corrupted: ${key} holds ${size.actual} bytes, its manifest says ${size.expected}`,
      'size',
    );
  }
  return new IntegrityError(`the manifest of ${key} cannot be used: ${broken.reason}`, 'missing-manifest');
}

/** Finds the backup a selector names, with its manifest; throws IntegrityError or UserError saying why not. */
export async function locateBackup(
  storage: Storage | undefined,
  prefix: string,
  selector: BackupSelector,
  auth: LocateAuth,
): Promise<LocatedBackup> {
  if (selector.kind === 'file') return locateFile(selector.path, auth);
  if (!storage) throw new Error('no storage to locate the backup in');
  const options = { verifier: auth.verifier, signal: auth.signal };
  if (selector.kind === 'latest' || selector.kind === 'before') {
    const catalog = await readCatalog(storage, prefix, selector.name, options);
    // `before`: only what was taken strictly before the cutoff counts, found or skipped.
    const cutoff = selector.kind === 'before' ? selector.time.getTime() : Number.POSITIVE_INFINITY;
    const inRange = (createdAt: Date): boolean => createdAt.getTime() < cutoff;
    let backups = catalog.backups;
    if (!selector.name) {
      const all = [...new Set(backups.map((b) => b.name))].sort();
      // The sets restore writes (<name>-pre-restore) do not make the choice ambiguous.
      const main = all.filter((n) => !n.endsWith('-pre-restore'));
      const names = main.length ? main : all;
      if (names.length > 1) {
        throw new UserError(
          `'name' is required: ${storage.location}/${prefix} holds several backup sets (${names.join(', ')})`,
        );
      }
      backups = backups.filter((b) => b.name === names[0]);
    }
    const where = `${storage.location}/${prefix}${selector.name ? `${prefix ? '/' : ''}${selector.name}` : ''}`;
    if (selector.kind === 'before' && backups.length && !backups.some((b) => inRange(b.createdAt))) {
      const oldest = backups[backups.length - 1] as Backup;
      throw new UserError(
        `'backup': no authenticated backup in ${where} was taken before ${selector.time.toISOString()}; the oldest is from ${oldest.createdAt.toISOString()}`,
      );
    }
    const newest = backups.find((b) => inRange(b.createdAt));
    if (!newest) {
      const incomplete = catalog.incomplete[0];
      if (incomplete) {
        throw missingManifest(incomplete.data.key, manifestKeyFor(prefix, incomplete.name, incomplete.createdAt));
      }
      const broken = catalog.broken[0];
      if (broken) throw brokenError(broken.manifestKey, broken);
      const untrusted = catalog.unauthenticated[0];
      if (untrusted) {
        throw new IntegrityError(
          `no authenticated backup in ${where}: ${catalog.unauthenticated.length} manifest(s) did not authenticate, the newest ${untrusted.manifestKey} because ${untrusted.reason}` +
            (auth.verifier ? ` (checked with ${auth.verifier.describe()})` : '') +
            '. Check the keys given, or whether the storage was tampered with',
          'unauthenticated',
        );
      }
      throw new UserError(`no backup found in ${where}: check 'destination' and 'name'`);
    }
    const skipped = [
      ...catalog.incomplete
        .filter((i) => i.name === newest.name && i.createdAt > newest.createdAt && inRange(i.createdAt))
        .map((i) => `${i.data.key} (missing manifest)`),
      ...catalog.broken
        .filter(
          (b) => b.name === newest.name && b.manifestKey > newest.manifestKey && brokenInRange(b, prefix, inRange),
        )
        .map((b) => `${b.manifestKey} (${b.reason})`),
      ...catalog.unauthenticated
        .filter((u) => u.name === newest.name && u.manifestKey > newest.manifestKey && inRange(u.createdAt))
        .map((u) => `${u.manifestKey} (not authenticated: ${u.reason})`),
    ];
    return fromBackup(storage, newest, skipped);
  }
  const parsed = parseKey(selector.key, prefix);
  if (!parsed) {
    throw new UserError(
      `'backup': '${selector.key}' is not a backup key under '${prefix || '(the root)'}'; give 'latest' or a key like ${prefix ? `${prefix}/` : ''}<name>/YYYY/MM/DD/<name>-YYYYMMDDTHHMMSSZ.sql.gz.gpg`,
    );
  }
  const catalog = await readCatalog(storage, prefix, parsed.name, options);
  const found = catalog.backups.find((b) => b.manifestKey === selector.key || b.data.key === selector.key);
  if (found) return fromBackup(storage, found, []);
  const manifestKey = manifestKeyFor(prefix, parsed.name, parsed.createdAt);
  const untrusted = catalog.unauthenticated.find((u) => u.manifestKey === manifestKey);
  if (untrusted) {
    const allowed = auth.allowUnauthenticated;
    if (!allowed || (allowed !== selector.key && allowed !== untrusted.data?.key)) {
      throw unauthenticatedError(untrusted, auth.verifier);
    }
    if (!untrusted.manifest || !untrusted.data) {
      throw new IntegrityError(
        `${untrusted.manifestKey} cannot be used even with 'allow-unauthenticated': its manifest does not parse or its data object is missing`,
        'missing-manifest',
      );
    }
    return {
      ...fromBackup(
        storage,
        {
          name: untrusted.name,
          manifest: untrusted.manifest,
          manifestKey: untrusted.manifestKey,
          data: untrusted.data,
          createdAt: untrusted.createdAt,
        },
        [],
      ),
      unauthenticated: untrusted.reason,
    };
  }
  const broken = catalog.broken.find((b) => b.manifestKey === manifestKey);
  if (broken) throw brokenError(broken.manifestKey.replace(/\.manifest\.json$/, ''), broken);
  const incomplete = catalog.incomplete.find((i) => i.data.key === selector.key || i.data.key.startsWith(parsed.stem));
  if (incomplete) throw missingManifest(incomplete.data.key, manifestKey);
  throw new UserError(`'backup': ${storage.location}/${selector.key} does not exist`);
}

/** A broken manifest's time comes from its key. */
function brokenInRange(b: BrokenManifest, prefix: string, inRange: (d: Date) => boolean): boolean {
  const parsed = parseKey(b.manifestKey, prefix);
  return !parsed || inRange(parsed.createdAt);
}

function fromBackup(storage: Storage, b: Backup, skipped: string[]): LocatedBackup {
  return {
    manifest: b.manifest,
    manifestKey: b.manifestKey,
    dataKey: b.data.key,
    storage,
    label: `${storage.location}/${b.data.key}`,
    skipped,
  };
}

async function locateFile(file: string, auth: LocateAuth): Promise<LocatedBackup> {
  const abs = path.resolve(file);
  const base = path.basename(abs);
  const ext = [...DATA_EXTENSIONS].sort((a, b) => b.length - a.length).find((e) => base.endsWith(`.${e}`));
  if (!ext) {
    throw new UserError(`'backup-file': ${file} does not end in a backup extension (${DATA_EXTENSIONS.join(', ')})`);
  }
  const stat = await fs.stat(abs).catch(() => null);
  if (!stat?.isFile()) throw new UserError(`'backup-file': ${file} does not exist`);
  const manifestName = `${base.slice(0, -ext.length - 1)}.manifest.json`;
  const storage = new LocalStorage(path.dirname(abs));
  let bytes: Buffer;
  try {
    bytes = await readCapped(storage, manifestName, MAX_MANIFEST_BYTES, auth.signal);
  } catch (err) {
    if (err instanceof TooLargeError)
      throw new IntegrityError(`${manifestName} is too large to be a manifest`, 'missing-manifest');
    throw missingManifest(abs, path.join(path.dirname(abs), manifestName));
  }
  // The same rule as in storage: the manifest must authenticate, unless this very file was named as trusted.
  let unauthenticated: string | undefined;
  const authenticator = await readCapped(storage, `${manifestName}.sig`, MAX_AUTHENTICATOR_BYTES, auth.signal).catch(
    () => null,
  );
  const verdict =
    authenticator && auth.verifier
      ? await auth.verifier.verify(bytes, authenticator.toString('utf8'), auth.signal)
      : {
          ok: false as const,
          reason: authenticator
            ? 'this job holds no key to authenticate it'
            : `it has no ${manifestName}.sig beside it`,
        };
  if (!verdict.ok) {
    const allowed = auth.allowUnauthenticated;
    if (!allowed || path.resolve(allowed) !== abs) {
      throw new IntegrityError(
        `not authenticated: the manifest beside ${file}: ${verdict.reason}; name this file in 'allow-unauthenticated' to use it anyway`,
        'unauthenticated',
      );
    }
    unauthenticated = verdict.reason;
  }
  const manifest = parseManifest(bytes);
  if (path.posix.basename(manifest.object.key) !== base) {
    throw new IntegrityError(
      `the manifest beside ${file} describes ${manifest.object.key}, not ${base}`,
      'missing-manifest',
    );
  }
  return {
    manifest,
    manifestKey: manifestName,
    dataKey: base,
    storage,
    label: abs,
    skipped: [],
    ...(unauthenticated ? { unauthenticated } : {}),
  };
}
