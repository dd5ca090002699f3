/**
 * A second copy of a finished backup in another destination (another region, another provider, a
 * disk): the very bytes stored in the primary, streamed from it, checked against the manifest's SHA-256
 * on the way in and read back afterwards, and only then the manifest — so the replica is a complete,
 * independently verifiable backup set that prune, monitor, verify and restore use like any other.
 */
import { pipeline } from 'node:stream/promises';
import { describeError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { formatBytes } from '../../util/units.js';
import { dataKeyFor, extensionFor, manifestKeyFor } from '../layout.js';
import { type Manifest, serializeManifest } from '../manifest.js';
import { type ManifestSigner, writeAuthenticatedManifest } from '../manifest-auth.js';
import { HashStage } from '../pipeline/streams.js';
import { hashStored, type Storage, type WriteOptions } from '../storage/index.js';

export interface ReplicaTarget {
  storage: Storage;
  /** Storage-relative prefix of the replica destination. */
  prefix: string;
}

export interface ReplicaResult {
  location: string;
  dataKey: string;
  manifestKey: string;
}

/** Raised when the primary backup is complete and only its copy to the replica failed. */
export class ReplicaError extends Error {
  override name = 'ReplicaError';
}

export function replicaKeysFor(m: Manifest, prefix: string): { dataKey: string; manifestKey: string } {
  const createdAt = new Date(m.createdAt);
  const ext = extensionFor(m.dump.format, m.dump.compression, m.encryption.scheme !== 'none');
  return {
    dataKey: dataKeyFor(prefix, m.name, createdAt, ext),
    manifestKey: manifestKeyFor(prefix, m.name, createdAt),
  };
}

/**
 * Copies the backup that `manifest` describes from `source` to `target`: data, SHA-256 read back, then
 * the manifest (naming the replica's own object key). On failure nothing usable is left in the replica
 * (the data object is removed when Object Lock allows), and a ReplicaError says the primary is fine.
 */
export async function replicateBackup(o: {
  source: Storage;
  manifest: Manifest;
  target: ReplicaTarget;
  retainUntil?: WriteOptions['retainUntil'];
  /** Authenticates the replica's manifest (it names the replica's own object key, so it is a new manifest). */
  signer: ManifestSigner;
  log: Logger;
  signal?: AbortSignal;
}): Promise<ReplicaResult> {
  const { source, manifest: m, target, log, signal } = o;
  const replica = target.storage;
  const { dataKey, manifestKey } = replicaKeysFor(m, target.prefix);
  const where = `${replica.location}/${dataKey}`;
  let written = false;
  try {
    if ((await replica.head(manifestKey)) || (await replica.head(dataKey))) {
      throw new Error(`${where} already exists in the replica`);
    }
    log.info(`copying ${source.location}/${m.object.key} → ${where}`);
    const hash = new HashStage();
    // One failure (the read or the write) stops both sides.
    const stop = new AbortController();
    const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const body = await source.read(m.object.key, { signal: both });
    written = true;
    const storing = replica.write(dataKey, hash, {
      expectedSize: m.object.size,
      retainUntil: o.retainUntil,
      signal: both,
      readBack: true,
    });
    storing.catch(() => stop.abort());
    const reading = pipeline(body, hash, { signal: both });
    reading.catch(() => stop.abort());
    const [stored] = await Promise.all([storing, reading]);
    if (hash.sha256 !== m.object.sha256 || hash.bytes !== m.object.size) {
      throw new Error(
        `the primary object read back as ${hash.bytes} bytes, sha256 ${hash.sha256}; the manifest says ${m.object.size}, ${m.object.sha256}`,
      );
    }
    if (stored.size !== m.object.size) throw new Error(`the replica took ${stored.size} of ${m.object.size} bytes`);
    const check = stored.readBack ?? (await hashStored(replica, dataKey, signal));
    if (check.sha256 !== m.object.sha256 || check.bytes !== m.object.size) {
      throw new Error(
        `read-back of ${where} does not match the manifest (${check.bytes} bytes, sha256 ${check.sha256}; expected ${m.object.size}, ${m.object.sha256})`,
      );
    }
    log.info(`replica read back: ${formatBytes(check.bytes)}, sha256 ${check.sha256} matches`);
    const replicaManifest: Manifest = { ...m, object: { ...m.object, key: dataKey } };
    await writeAuthenticatedManifest(replica, manifestKey, serializeManifest(replicaManifest), o.signer, {
      retainUntil: o.retainUntil,
      signal,
    });
    log.info(`replica manifest written: ${replica.location}/${manifestKey}`);
    return { location: replica.location, dataKey, manifestKey };
  } catch (err) {
    if (written) {
      try {
        if (await replica.head(dataKey)) await replica.delete([dataKey]);
      } catch (cleanupErr) {
        log.warn(
          `could not remove ${where} after the failure (${describeError(cleanupErr)}); it has no manifest, so no command treats it as a backup`,
        );
      }
    }
    throw new ReplicaError(
      `the primary backup ${source.location}/${m.object.key} is complete and verified, but copying it to the replica ${replica.location} failed: ${describeError(err)}`,
      { cause: err },
    );
  }
}
