/**
 * A set's backups, newest first, as `pgbackrest info` or `restic snapshots` show theirs: what to choose
 * from on a data-loss day. Manifests that do not authenticate are listed too, marked, never hidden.
 */
import { readCatalog } from './catalog.js';
import type { Manifest } from './manifest.js';
import { type AuthKeys, manifestVerifier } from './manifest-auth.js';
import type { Storage } from './storage/index.js';

export interface ListedBackup {
  /** The data object's key. */
  key: string;
  createdAt: string;
  ageSeconds: number;
  /** Stored bytes. */
  size: number;
  rows: number;
  format: Manifest['dump']['format'];
  compression: Manifest['dump']['compression'];
  encryption: Manifest['encryption']['scheme'];
  /** The encryption key's fingerprint (passphrase digest or recipient), null when unencrypted. */
  keyId: string | null;
  authenticated: boolean;
  synthetic: boolean;
  /** Why it did not authenticate (unauthenticated ones only). */
  reason?: string;
}

export interface ListConfig {
  prefix: string;
  name?: string;
  authKeys: AuthKeys;
}

function entry(m: Manifest, now: Date, authenticated: boolean, reason?: string): ListedBackup {
  return {
    key: m.object.key,
    createdAt: m.createdAt,
    ageSeconds: Math.max(0, Math.floor((now.getTime() - Date.parse(m.createdAt)) / 1000)),
    size: m.object.size,
    rows: m.totals.rows,
    format: m.dump.format,
    compression: m.dump.compression,
    encryption: m.encryption.scheme,
    keyId: m.encryption.keyFingerprint,
    authenticated,
    synthetic: m.synthetic === true,
    ...(reason ? { reason } : {}),
  };
}

/** Every backup of the set(s) under `prefix` whose manifest parses, authenticated or not, newest first. */
export async function listBackups(
  cfg: ListConfig,
  deps: { storage: Storage; now?: () => Date; signal?: AbortSignal },
): Promise<ListedBackup[]> {
  const now = (deps.now ?? (() => new Date()))();
  const verifier = (await manifestVerifier(cfg.authKeys)) ?? null;
  try {
    const catalog = await readCatalog(deps.storage, cfg.prefix, cfg.name, { verifier, signal: deps.signal });
    const out = [
      ...catalog.backups.map((b) => entry(b.manifest, now, true)),
      ...catalog.unauthenticated.flatMap((u) => (u.manifest ? [entry(u.manifest, now, false, u.reason)] : [])),
    ];
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.key.localeCompare(a.key));
  } finally {
    await verifier?.close();
  }
}
