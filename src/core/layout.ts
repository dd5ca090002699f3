/**
 * The object layout: the one place that maps a backup's identity to object keys and back.
 *
 *   <prefix>/<name>/<YYYY>/<MM>/<DD>/<name>-<YYYYMMDD>T<HHMMSS>Z.<ext>             data
 *   <prefix>/<name>/<YYYY>/<MM>/<DD>/<name>-<YYYYMMDD>T<HHMMSS>Z.manifest.json.sig authenticates the manifest
 *   <prefix>/<name>/<YYYY>/<MM>/<DD>/<name>-<YYYYMMDD>T<HHMMSS>Z.manifest.json     written last
 *   <prefix>/<name>/.lock                                                          while a backup runs
 *
 * All times are UTC. A key that does not match this exactly belongs to someone else and is never touched.
 */
import { UserError } from '../util/errors.js';

export type Format = 'plain' | 'custom';
export type Compression = 'gzip' | 'zstd' | 'none';

export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
export const DATA_EXTENSIONS = [
  'sql.gz',
  'sql.zst',
  'sql',
  'dump',
  'sql.gz.gpg',
  'sql.zst.gpg',
  'sql.gpg',
  'dump.gpg',
] as const;
export type DataExtension = (typeof DATA_EXTENSIONS)[number];

export function validateName(name: string, input = 'name'): string {
  if (!NAME_PATTERN.test(name) || name.length > 100) {
    throw new UserError(
      `'${input}' must match [a-z0-9][a-z0-9._-]* (lower case, at most 100 characters; got '${name}')`,
    );
  }
  return name;
}

/** Normalises a prefix: no leading or trailing slashes, `''` for the root. */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
}

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

export function extensionFor(format: Format, compression: Compression, encrypted: boolean): DataExtension {
  let ext: string;
  if (format === 'custom') ext = 'dump';
  else ext = compression === 'gzip' ? 'sql.gz' : compression === 'zstd' ? 'sql.zst' : 'sql';
  return (encrypted ? `${ext}.gpg` : ext) as DataExtension;
}

function stamp(date: Date): { y: string; m: string; d: string; compact: string } {
  const iso = date.toISOString(); // 2026-11-25T19:24:44.123Z
  const y = iso.slice(0, 4);
  const m = iso.slice(5, 7);
  const d = iso.slice(8, 10);
  const compact = `${y}${m}${d}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return { y, m, d, compact };
}

/** The directory of one backup set: `<prefix>/<name>/` (with the trailing slash, for listing). */
export function setPrefix(prefix: string, name: string): string {
  return `${join(normalizePrefix(prefix), name)}/`;
}

export function stemFor(prefix: string, name: string, createdAt: Date): string {
  const s = stamp(createdAt);
  return join(normalizePrefix(prefix), name, s.y, s.m, s.d, `${name}-${s.compact}`);
}

export function dataKeyFor(prefix: string, name: string, createdAt: Date, ext: DataExtension): string {
  return `${stemFor(prefix, name, createdAt)}.${ext}`;
}

export function manifestKeyFor(prefix: string, name: string, createdAt: Date): string {
  return `${stemFor(prefix, name, createdAt)}.manifest.json`;
}

/** The manifest's authenticator (manifest-auth.ts), written before the manifest. */
export function authenticatorKeyFor(manifestKey: string): string {
  return `${manifestKey}.sig`;
}

export function lockKeyFor(prefix: string, name: string): string {
  return `${setPrefix(prefix, name)}.lock`;
}

export interface ParsedKey {
  key: string;
  name: string;
  /** The backup's snapshot time (second precision), from the key. */
  createdAt: Date;
  kind: 'data' | 'manifest' | 'authenticator';
  ext?: DataExtension;
  /** Key without the extension; a data object and its manifest share it. */
  stem: string;
}

const KEY_RE =
  /^(?:(.*)\/)?([a-z0-9][a-z0-9._-]*)\/(\d{4})\/(\d{2})\/(\d{2})\/([a-z0-9][a-z0-9._-]*)-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.(.+)$/;

/**
 * Parses a key of the layout under `prefix`; anything else (other prefixes, other names, stray files,
 * partial uploads) gives null.
 */
export function parseKey(key: string, prefix: string): ParsedKey | null {
  const p = normalizePrefix(prefix);
  const m = KEY_RE.exec(key);
  if (!m) return null;
  const [, keyPrefix = '', name, y, mo, d, fileName, fy, fmo, fd, hh, mi, ss, ext] = m as unknown as string[];
  if (keyPrefix !== p) return null;
  if (fileName !== name || fy !== y || fmo !== mo || fd !== d) return null;
  const createdAt = new Date(`${y}-${mo}-${d}T${hh}:${mi}:${ss}Z`);
  if (Number.isNaN(createdAt.getTime()) || stamp(createdAt).compact !== `${fy}${fmo}${fd}T${hh}${mi}${ss}Z`) {
    return null;
  }
  const stem = key.slice(0, key.length - (ext as string).length - 1);
  if (ext === 'manifest.json') return { key, name: name as string, createdAt, kind: 'manifest', stem };
  if (ext === 'manifest.json.sig') return { key, name: name as string, createdAt, kind: 'authenticator', stem };
  if ((DATA_EXTENSIONS as readonly string[]).includes(ext as string)) {
    return { key, name: name as string, createdAt, kind: 'data', ext: ext as DataExtension, stem };
  }
  return null;
}
