/**
 * Cached .deb files are judged against apt's signed index before anything installs them as root: the
 * Actions cache is writable by anyone who can run a workflow in the repository, so a restored file is
 * untrusted until apt vouches for it. A file passes when apt would install exactly that package version
 * for the client (`apt-get install -s`) and apt's index lists its SHA256 and size for that package,
 * version and architecture (`apt-cache show`). apt checked the index's signature when it fetched it
 * (`apt-get update`), so a match means the file is the one the repository published.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { runProcess } from '../pipeline/process.js';

/** One package record of apt's index (a stanza of `apt-cache show`). */
export interface AptRecord {
  package: string;
  version: string;
  architecture: string;
  /** Absent for a record that comes only from dpkg's status file (installed, not in any index). */
  sha256?: string;
  size?: number;
}

/** What a cached file is, by its control fields and its bytes. */
export interface CachedDeb {
  /** The file name inside the cache directory, for messages. */
  file: string;
  package: string;
  version: string;
  architecture: string;
  sha256: string;
  size: number;
}

/** A package version apt would install (`Inst` lines of `apt-get install -s`). */
export interface WantedPackage {
  package: string;
  version: string;
  architecture: string;
}

export type CacheVerdict =
  | { trusted: true; files: string[] }
  | { trusted: false; refused: Array<{ file: string; reason: string }> };

/** deb822 stanzas (apt-cache show, dpkg-deb -f): fields by name; continuation lines are skipped. */
export function parseStanzas(text: string): Array<Record<string, string>> {
  const stanzas: Array<Record<string, string>> = [];
  let current: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (Object.keys(current).length) stanzas.push(current);
      current = {};
      continue;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) current[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  if (Object.keys(current).length) stanzas.push(current);
  return stanzas;
}

export function parseAptCacheShow(text: string): AptRecord[] {
  return parseStanzas(text).flatMap((s) => {
    const { Package: pkg, Version: version, Architecture: architecture } = s;
    if (!pkg || !version || !architecture) return [];
    const size = s.Size !== undefined && /^\d+$/.test(s.Size) ? Number(s.Size) : undefined;
    const sha256 = s.SHA256 && /^[0-9a-f]{64}$/i.test(s.SHA256) ? s.SHA256.toLowerCase() : undefined;
    return [{ package: pkg, version, architecture, sha256, size }];
  });
}

/** `Inst name [old] (version origin [arch])` lines of a simulated install. */
export function parseAptSimulation(text: string): WantedPackage[] {
  const wanted: WantedPackage[] = [];
  for (const line of text.split('\n')) {
    const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[([^\]\s]+)\]\)/.exec(line);
    if (m?.[1] && m[2] && m[3]) wanted.push({ package: m[1].replace(/:.*$/, ''), version: m[2], architecture: m[3] });
  }
  return wanted;
}

const sameVersion = (a: WantedPackage, b: WantedPackage): boolean =>
  a.package === b.package && a.version === b.version && (a.architecture === b.architecture || a.architecture === 'all');

/**
 * Why apt does not vouch for `deb`, or null when it does: the package version is one apt would install
 * for the client, and an index record of that package, version and architecture lists its SHA256 and size.
 */
export function judgeCachedDeb(deb: CachedDeb, wanted: WantedPackage[], records: AptRecord[]): string | null {
  const what = `${deb.package} ${deb.version} (${deb.architecture})`;
  if (!wanted.some((w) => sameVersion(deb, w))) return `${what} is not a package apt would install for the client`;
  const same = records.filter(
    (r) => r.package === deb.package && r.version === deb.version && r.architecture === deb.architecture,
  );
  const signed = same.filter((r) => r.sha256 !== undefined);
  if (signed.length === 0) return `apt's index has no ${what}`;
  if (!signed.some((r) => r.sha256 === deb.sha256.toLowerCase() && (r.size === undefined || r.size === deb.size))) {
    return `its SHA256 ${deb.sha256} is not the one apt's signed index lists for ${what}`;
  }
  return null;
}

/**
 * The verdict on a whole cache entry: every .deb must pass, and together they must cover every package
 * apt would install (else the install could not succeed from the cache anyway).
 */
export function judgeCacheEntry(
  debs: Array<CachedDeb | { file: string; unreadable: string }>,
  wanted: WantedPackage[],
  records: AptRecord[],
): CacheVerdict {
  const refused: Array<{ file: string; reason: string }> = [];
  const covered: CachedDeb[] = [];
  for (const d of debs) {
    if ('unreadable' in d) refused.push({ file: d.file, reason: d.unreadable });
    else {
      const reason = judgeCachedDeb(d, wanted, records);
      if (reason) refused.push({ file: d.file, reason });
      else covered.push(d);
    }
  }
  if (debs.length === 0) refused.push({ file: '(none)', reason: 'the cache entry holds no .deb file' });
  else if (refused.length === 0) {
    for (const w of wanted) {
      if (!covered.some((d) => sameVersion(d, w))) {
        refused.push({ file: '(missing)', reason: `no cached .deb for ${w.package} ${w.version} (${w.architecture})` });
      }
    }
  }
  return refused.length ? { trusted: false, refused } : { trusted: true, files: covered.map((d) => d.file) };
}

/** How apt is asked (tests answer with a fake index). Both run unprivileged: they only read apt's lists. */
export interface AptQueries {
  /** `apt-get install -s` output for the package. */
  simulateInstall(pkg: string): Promise<string>;
  /** `apt-cache show <pkg>:<arch>=<version>` output ('' when apt knows no such version). */
  show(spec: string): Promise<string>;
}

export const systemApt: AptQueries = {
  simulateInstall: (pkg) =>
    runProcess('apt-get', ['install', '-s', '-qq', '--no-install-recommends', pkg], { name: 'apt-get install -s' }),
  // 100: "No packages found"; any other failure also leaves the file unvouched for.
  show: (spec) => runProcess('apt-cache', ['show', spec], { name: 'apt-cache show', okStatuses: [0, 100] }),
};

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** Reads one cached file: its control fields (dpkg-deb, unprivileged) and its hash and size. */
async function readCachedDeb(dir: string, file: string): Promise<CachedDeb | { file: string; unreadable: string }> {
  const full = path.join(dir, file);
  const st = await fs.lstat(full);
  if (!st.isFile()) return { file, unreadable: 'not a regular file' };
  let fields: Record<string, string> | undefined;
  try {
    fields = parseStanzas(
      await runProcess('dpkg-deb', ['-f', full, 'Package', 'Version', 'Architecture'], { name: 'dpkg-deb' }),
    )[0];
  } catch (err) {
    return { file, unreadable: `not a readable .deb (${(err as Error).message})` };
  }
  if (!fields?.Package || !fields.Version || !fields.Architecture) {
    return { file, unreadable: 'its control fields lack Package, Version or Architecture' };
  }
  return {
    file,
    package: fields.Package,
    version: fields.Version,
    architecture: fields.Architecture,
    sha256: await sha256Of(full),
    size: st.size,
  };
}

/**
 * Judges the .deb files restored into `dir` for `pkg` against apt's current index (refresh it first).
 * The trusted verdict lists the file paths to install, nothing else from the directory.
 */
export async function verifyCachedDebs(dir: string, pkg: string, apt: AptQueries = systemApt): Promise<CacheVerdict> {
  const names = (await fs.readdir(dir)).filter((f) => f.endsWith('.deb')).sort();
  const debs = await Promise.all(names.map((f) => readCachedDeb(dir, f)));
  const wanted = parseAptSimulation(await apt.simulateInstall(pkg));
  const records: AptRecord[] = [];
  for (const d of debs) {
    if ('unreadable' in d) continue;
    records.push(...parseAptCacheShow(await apt.show(`${d.package}:${d.architecture}=${d.version}`)));
  }
  const verdict = judgeCacheEntry(debs, wanted, records);
  return verdict.trusted ? { trusted: true, files: verdict.files.map((f) => path.join(dir, f)) } : verdict;
}
