/**
 * What a destination holds: every backup set's backups (a data object with a valid manifest), the data
 * objects without a manifest (interrupted runs), and manifests that do not parse. Reads every page of the
 * listing; prune, verify, restore and monitor all see the destination through this one function.
 */
import { describeError } from '../util/errors.js';
import { type DataExtension, type ParsedKey, parseKey, setPrefix } from './layout.js';
import { type Manifest, parseManifest } from './manifest.js';
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
}

export interface BrokenManifest {
  name: string;
  manifestKey: string;
  reason: string;
  /** Set when the only problem is the data object's size: what it holds vs what the manifest says. */
  size?: { actual: number; expected: number };
}

export interface Catalog {
  /** Valid backups, newest first (by manifest createdAt, then key). */
  backups: Backup[];
  /** Data objects with no manifest beside them. */
  incomplete: IncompleteBackup[];
  /** Manifests that do not parse, or that do not match their data object. */
  broken: BrokenManifest[];
  /** Every object listed under the set prefix(es), of the layout or not. */
  objects: ObjectInfo[];
}

/**
 * Lists backups under `prefix`, for one set (`name`) or all sets. Manifests are read concurrently
 * (`concurrency` at a time).
 */
export async function readCatalog(
  storage: Storage,
  prefix: string,
  name?: string,
  options: { concurrency?: number } = {},
): Promise<Catalog> {
  const listPrefix = name ? setPrefix(prefix, name) : prefix ? `${prefix.replace(/\/+$/, '')}/` : '';
  const objects = await storage.list(listPrefix);
  const byStem = new Map<
    string,
    { data?: { info: ObjectInfo; parsed: ParsedKey }; manifest?: { info: ObjectInfo; parsed: ParsedKey } }
  >();
  for (const info of objects) {
    const parsed = parseKey(info.key, prefix);
    if (!parsed || (name && parsed.name !== name)) continue;
    const entry = byStem.get(parsed.stem) ?? {};
    if (parsed.kind === 'manifest') entry.manifest = { info, parsed };
    else if (!entry.data) entry.data = { info, parsed };
    byStem.set(parsed.stem, entry);
  }
  const backups: Backup[] = [];
  const incomplete: IncompleteBackup[] = [];
  const broken: BrokenManifest[] = [];
  const entries = [...byStem.values()];
  const concurrency = options.concurrency ?? 16;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const e = entries[next++] as (typeof entries)[number];
      if (!e.manifest) {
        if (e.data) {
          incomplete.push({
            name: e.data.parsed.name,
            data: e.data.info,
            ext: e.data.parsed.ext as DataExtension,
            createdAt: e.data.parsed.createdAt,
          });
        }
        continue;
      }
      const m = e.manifest;
      let manifest: Manifest;
      try {
        manifest = parseManifest(await storage.readText(m.info.key));
      } catch (err) {
        broken.push({ name: m.parsed.name, manifestKey: m.info.key, reason: describeError(err) });
        continue;
      }
      const reason = mismatch(manifest, m.parsed, e.data?.info);
      if (reason) {
        const sizeOnly = e.data !== undefined && reason === sizeMismatch(manifest, e.data.info);
        broken.push({
          name: m.parsed.name,
          manifestKey: m.info.key,
          reason,
          ...(sizeOnly && e.data ? { size: { actual: e.data.info.size, expected: manifest.object.size } } : {}),
        });
        continue;
      }
      backups.push({
        name: manifest.name,
        manifest,
        manifestKey: m.info.key,
        data: e.data?.info as ObjectInfo,
        createdAt: new Date(manifest.createdAt),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  backups.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.data.key < b.data.key ? 1 : -1));
  incomplete.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  return { backups, incomplete, broken, objects };
}

/** Why a manifest does not describe the data object beside it, or null when it does. */
function mismatch(m: Manifest, key: ParsedKey, data: ObjectInfo | undefined): string | null {
  if (!data) return 'its data object is missing';
  if (m.name !== key.name) return `it names the set '${m.name}' but lies under '${key.name}'`;
  if (m.object.key !== data.key) return `it describes ${m.object.key}, not ${data.key}`;
  const size = sizeMismatch(m, data);
  if (size) return size;
  if (Math.floor(Date.parse(m.createdAt) / 1000) !== Math.floor(key.createdAt.getTime() / 1000)) {
    return `its createdAt ${m.createdAt} does not match the key's time`;
  }
  return null;
}

function sizeMismatch(m: Manifest, data: ObjectInfo): string | null {
  if (m.object.size === data.size) return null;
  return `the data object holds ${data.size} bytes, the manifest says ${m.object.size}`;
}
