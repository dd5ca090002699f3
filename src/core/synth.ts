/**
 * Synthetic backups at chosen past times, for tests and retention rehearsals (`pgdr synth`): a few bytes of
 * data and an authenticated manifest marked `synthetic`, laid out exactly like real backups, so prune's
 * decisions over months of history can be rehearsed in seconds. restore and verify refuse them, monitor
 * never counts one as fresh, and synth refuses a set that holds real backups.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { UserError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { readCatalog } from './catalog.js';
import { authenticatorKeyFor, dataKeyFor, manifestKeyFor } from './layout.js';
import { CHECKSUM_ALGORITHM, type Manifest, serializeManifest } from './manifest.js';
import { type ManifestSigner, openSigner, type SignerConfig, writeAuthenticatedManifest } from './manifest-auth.js';
import type { Storage } from './storage/index.js';
import { TOOL_VERSION } from './version.js';

export interface SynthConfig {
  prefix: string;
  name: string;
  /** Snapshot times (second precision), each in the past. */
  times: Date[];
  signer: SignerConfig;
  /** Stored bytes of each data object (default 64). */
  size?: number;
}

export interface SynthDeps {
  storage: Storage;
  log: Logger;
  now?: () => Date;
  signal?: AbortSignal;
}

export interface SyntheticObjects {
  createdAt: Date;
  dataKey: string;
  manifestKey: string;
  authenticatorKey: string;
  body: Buffer;
  manifest: string;
  authenticator: string;
}

/**
 * The objects of one synthetic backup, authenticated by `signer`. `synthetic: false` is for the project's
 * own tests of what a real backup looks like to monitor (they hold the key, as a backup job does);
 * `pgdr synth` always marks its backups.
 */
export async function synthesizeBackup(
  o: { prefix: string; name: string; createdAt: Date; size?: number; synthetic?: boolean },
  signer: ManifestSigner,
): Promise<SyntheticObjects> {
  const at = new Date(Math.floor(o.createdAt.getTime() / 1000) * 1000);
  const dataKey = dataKeyFor(o.prefix, o.name, at, 'sql.gz.gpg');
  const body = Buffer.alloc(o.size ?? 64, `-- postgres-dr synthetic backup ${at.toISOString()}\n`);
  const manifest: Manifest = {
    formatVersion: 1,
    tool: { name: 'postgres-dr', version: TOOL_VERSION },
    name: o.name,
    createdAt: at.toISOString(),
    completedAt: new Date(at.getTime() + 60_000).toISOString(),
    object: { key: dataKey, size: body.length, sha256: createHash('sha256').update(body).digest('hex') },
    dump: {
      format: 'plain',
      compression: 'gzip',
      compressionLevel: 6,
      database: o.name,
      serverVersion: '0',
      serverVersionNum: 0,
      pgDumpVersion: '0',
      dumpSize: body.length,
    },
    encryption: { scheme: 'openpgp-passphrase', cipher: 'AES256', keyFingerprint: null },
    checksumAlgorithm: CHECKSUM_ALGORITHM,
    tables: [],
    totals: { tables: 0, rows: 0 },
    ...(o.synthetic === false ? {} : { synthetic: true as const }),
  };
  const text = serializeManifest(manifest);
  const manifestKey = manifestKeyFor(o.prefix, o.name, at);
  return {
    createdAt: at,
    dataKey,
    manifestKey,
    authenticatorKey: authenticatorKeyFor(manifestKey),
    body,
    manifest: text,
    authenticator: await signer.sign(Buffer.from(text, 'utf8')),
  };
}

/** Parses `--at` values: ISO-8601 UTC times, each in the past; duplicates (to the second) refused. */
export function parseSynthTimes(values: string[], now: Date, input = 'at'): Date[] {
  if (!values.length) throw new UserError(`'${input}' is required: one or more UTC times like 2026-11-25T03:00:00Z`);
  const seen = new Set<number>();
  return values.map((v) => {
    const t = v.trim();
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(t) || Number.isNaN(Date.parse(t))) {
      throw new UserError(`'${input}': '${t}' is not a UTC time like 2026-11-25T03:00:00Z`);
    }
    const d = new Date(Math.floor(Date.parse(t) / 1000) * 1000);
    if (d.getTime() > now.getTime())
      throw new UserError(`'${input}': ${t} is in the future; synthetic backups are of the past`);
    if (seen.has(d.getTime())) throw new UserError(`'${input}': ${t} is given twice`);
    seen.add(d.getTime());
    return d;
  });
}

export async function runSynth(cfg: SynthConfig, deps: SynthDeps): Promise<{ written: SyntheticObjects[] }> {
  const { storage, log } = deps;
  const now = (deps.now ?? (() => new Date()))();
  for (const t of cfg.times) {
    if (t.getTime() > now.getTime()) throw new UserError(`'at': ${t.toISOString()} is in the future`);
  }
  // Whatever authenticates or not: a set with any non-synthetic manifest is somebody's real backups.
  const catalog = await readCatalog(storage, cfg.prefix, cfg.name, { verifier: null, signal: deps.signal });
  const real = catalog.unauthenticated.filter((u) => u.manifest?.synthetic !== true);
  if (real.length) {
    throw new UserError(
      `set '${cfg.name}' already holds ${real.length} backup(s) that are not synthetic (e.g. ${real[0]?.manifestKey}): synth writes only into a set of its own; pick another 'name'`,
    );
  }
  const signer = await openSigner(cfg.signer, deps.signal);
  const written: SyntheticObjects[] = [];
  try {
    for (const createdAt of cfg.times) {
      deps.signal?.throwIfAborted();
      const b = await synthesizeBackup({ prefix: cfg.prefix, name: cfg.name, createdAt, size: cfg.size }, signer);
      if ((await storage.head(b.manifestKey)) || (await storage.head(b.dataKey))) {
        throw new UserError(`a backup at ${b.createdAt.toISOString()} already exists: ${b.manifestKey}`);
      }
      await storage.write(b.dataKey, Readable.from([b.body]), { expectedSize: b.body.length, signal: deps.signal });
      await writeAuthenticatedManifest(storage, b.manifestKey, b.manifest, signer, { signal: deps.signal });
      written.push(b);
    }
  } finally {
    await signer.close();
  }
  log.info(`wrote ${written.length} synthetic backup(s) of '${cfg.name}' to ${storage.location}`);
  return { written };
}
