/**
 * Finding a backup: the newest of a set, one named by its key, or a local file with its manifest beside
 * it. Either a backup whose manifest was read and matches its object, or an error saying why there is none.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { IntegrityError, UserError } from '../../util/errors.js';
import { type Backup, type BrokenManifest, readCatalog } from '../catalog.js';
import { DATA_EXTENSIONS, manifestKeyFor, parseKey } from '../layout.js';
import { type Manifest, parseManifest } from '../manifest.js';
import type { Storage } from '../storage/index.js';
import { LocalStorage } from '../storage/local.js';

export type BackupSelector =
  | { kind: 'latest'; name?: string }
  | { kind: 'key'; key: string }
  /** A local file with `<stem>.manifest.json` beside it. */
  | { kind: 'file'; path: string };

/** A backup found and its manifest read; `storage` + `dataKey` reach the data object. */
export interface LocatedBackup {
  manifest: Manifest;
  manifestKey: string;
  dataKey: string;
  storage: Storage;
  /** For messages: `s3://bucket/key` or a path. */
  label: string;
  /** Newer backups that were skipped by `latest` (no manifest, or a manifest that does not match). */
  skipped: string[];
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
): Promise<LocatedBackup> {
  if (selector.kind === 'file') return locateFile(selector.path);
  if (!storage) throw new Error('no storage to locate the backup in');
  if (selector.kind === 'latest') {
    const catalog = await readCatalog(storage, prefix, selector.name);
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
    const newest = backups[0];
    if (!newest) {
      const where = `${storage.location}/${prefix}${selector.name ? `${prefix ? '/' : ''}${selector.name}` : ''}`;
      const incomplete = catalog.incomplete[0];
      if (incomplete) {
        throw missingManifest(incomplete.data.key, manifestKeyFor(prefix, incomplete.name, incomplete.createdAt));
      }
      const broken = catalog.broken[0];
      if (broken) throw brokenError(broken.manifestKey, broken);
      throw new UserError(`no backup found in ${where}: check 'destination' and 'name'`);
    }
    const skipped = [
      ...catalog.incomplete
        .filter((i) => i.name === newest.name && i.createdAt > newest.createdAt)
        .map((i) => `${i.data.key} (missing manifest)`),
      ...catalog.broken
        .filter((b) => b.name === newest.name && b.manifestKey > newest.manifestKey)
        .map((b) => `${b.manifestKey} (${b.reason})`),
    ];
    return fromBackup(storage, newest, skipped);
  }
  const parsed = parseKey(selector.key, prefix);
  if (!parsed) {
    throw new UserError(
      `'backup': '${selector.key}' is not a backup key under '${prefix || '(the root)'}'; give 'latest' or a key like ${prefix ? `${prefix}/` : ''}<name>/YYYY/MM/DD/<name>-YYYYMMDDTHHMMSSZ.sql.gz.gpg`,
    );
  }
  const catalog = await readCatalog(storage, prefix, parsed.name);
  const found = catalog.backups.find((b) => b.manifestKey === selector.key || b.data.key === selector.key);
  if (found) return fromBackup(storage, found, []);
  const manifestKey = manifestKeyFor(prefix, parsed.name, parsed.createdAt);
  const broken = catalog.broken.find((b) => b.manifestKey === manifestKey);
  if (broken) throw brokenError(broken.manifestKey.replace(/\.manifest\.json$/, ''), broken);
  const incomplete = catalog.incomplete.find((i) => i.data.key === selector.key || i.data.key.startsWith(parsed.stem));
  if (incomplete) throw missingManifest(incomplete.data.key, manifestKey);
  throw new UserError(`'backup': ${storage.location}/${selector.key} does not exist`);
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

async function locateFile(file: string): Promise<LocatedBackup> {
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
  let text: string;
  try {
    text = await storage.readText(manifestName);
  } catch {
    throw missingManifest(abs, path.join(path.dirname(abs), manifestName));
  }
  const manifest = parseManifest(text);
  if (path.posix.basename(manifest.object.key) !== base) {
    throw new IntegrityError(
      `the manifest beside ${file} describes ${manifest.object.key}, not ${base}`,
      'missing-manifest',
    );
  }
  return { manifest, manifestKey: manifestName, dataKey: base, storage, label: abs, skipped: [] };
}
