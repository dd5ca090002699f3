/**
 * The keys use case, for key rotation: `keyUsage` tells which key the kept backups need, so an old key
 * can be retired once no kept backup was made with it. (Picking the key that opens one backup is in
 * backups/decrypt.ts.)
 */
import { matchPassphrase } from './backups/decrypt.js';
import { type Backup, readCatalog } from './catalog.js';
import type { Manifest } from './manifest.js';
import { manifestVerifier } from './manifest-auth.js';
import { GpgSession } from './pipeline/gpg.js';
import type { Storage } from './storage/index.js';

export interface KeyUsage {
  /** The OpenPGP fingerprint, `passphrase #<line>` for a given passphrase, or a label for the unknown. */
  key: string;
  scheme: Manifest['encryption']['scheme'];
  count: number;
  oldest: string;
  newest: string;
  /** The newest backup that needs this key (its data object key). */
  example: string;
  /** Whether a given decryption key opens these backups; undefined when none were given to check. */
  available?: boolean;
}

export interface GivenKeys {
  passphrases: string[];
  /** Primary fingerprints of the given private keys. */
  privateKeyFingerprints: string[];
}

export const UNKNOWN_PASSPHRASE = 'passphrase (not among the given ones)';
export const UNIDENTIFIED_PASSPHRASE = 'passphrase (give encryption-passphrase to tell them apart)';

/**
 * Which key each backup needs, grouped: fingerprint → count, oldest, newest, an example. Passphrase
 * digests are salted per backup, so passphrase backups are told apart only by testing the given
 * passphrases against them (`given.passphrases`, each labelled by its line number).
 */
export async function keyUsage(backups: Backup[], given?: GivenKeys): Promise<KeyUsage[]> {
  const groups = new Map<string, KeyUsage>();
  const add = (key: string, b: Backup, available: boolean | undefined): void => {
    const g = groups.get(key);
    const t = b.manifest.createdAt;
    if (!g) {
      groups.set(key, {
        key,
        scheme: b.manifest.encryption.scheme,
        count: 1,
        oldest: t,
        newest: t,
        example: b.data.key,
        available,
      });
      return;
    }
    g.count++;
    if (t < g.oldest) g.oldest = t;
    if (t > g.newest) {
      g.newest = t;
      g.example = b.data.key;
    }
  };
  const passphrases = given?.passphrases ?? [];
  // Digests take ~0.3 s each by design; four at a time (libuv's thread pool).
  const labels = new Array<string>(backups.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < backups.length) {
      const i = next++;
      const m = (backups[i] as Backup).manifest;
      if (m.encryption.scheme !== 'openpgp-passphrase') continue;
      if (passphrases.length === 0) labels[i] = UNIDENTIFIED_PASSPHRASE;
      else {
        const fpr = m.encryption.keyFingerprint;
        const j = fpr && /^pbkdf2-sha256:/.test(fpr) ? await matchPassphrase(fpr, passphrases) : -1;
        labels[i] = j >= 0 ? `passphrase #${j + 1}` : UNKNOWN_PASSPHRASE;
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  // Oldest first, so a group's example ends up the newest.
  const order = backups
    .map((b, i) => ({ b, i }))
    .sort((x, y) => (x.b.manifest.createdAt < y.b.manifest.createdAt ? -1 : 1));
  for (const { b, i } of order) {
    const e = b.manifest.encryption;
    if (e.scheme === 'none') add('none (unencrypted)', b, undefined);
    else if (e.scheme === 'openpgp-passphrase') {
      const label = labels[i] as string;
      add(label, b, passphrases.length ? label !== UNKNOWN_PASSPHRASE : undefined);
    } else {
      const fpr = e.keyFingerprint ?? 'public key (fingerprint not recorded)';
      const available = given?.privateKeyFingerprints.length ? given.privateKeyFingerprints.includes(fpr) : undefined;
      add(fpr, b, available);
    }
  }
  return [...groups.values()].sort((a, b) => (a.newest < b.newest ? 1 : a.newest > b.newest ? -1 : 0));
}

export interface KeyReport {
  usage: KeyUsage[];
  backups: number;
  /** Backups that none of the given keys opens (only when keys were given). */
  unopenable: number;
  /** Given keys (passphrase #n, or fingerprints) that no kept backup needs: safe to retire. */
  unused: string[];
}

/** Reads the catalog of one destination (one set, or all) and groups its backups by key. */
export async function readKeyReport(
  storage: Storage,
  prefix: string,
  name: string | undefined,
  given: { passphrases: string[]; privateKey?: string; signingPublicKeys?: string[] },
): Promise<KeyReport> {
  let privateKeyFingerprints: string[] = [];
  if (given.privateKey) {
    const gpg = await GpgSession.create();
    try {
      privateKeyFingerprints = await gpg.importSecretKey(given.privateKey, undefined);
    } finally {
      await gpg.close();
    }
  }
  // Only authenticated backups are reported on: the passphrases and signing keys given authenticate them.
  const verifier = await manifestVerifier({
    passphrases: given.passphrases,
    signingPublicKeys: given.signingPublicKeys,
  });
  const catalog = await readCatalog(storage, prefix, name, { verifier: verifier ?? null }).finally(() =>
    verifier?.close(),
  );
  const anyGiven = given.passphrases.length > 0 || privateKeyFingerprints.length > 0;
  const usage = await keyUsage(
    catalog.backups,
    anyGiven ? { passphrases: given.passphrases, privateKeyFingerprints } : undefined,
  );
  const used = new Set(usage.map((u) => u.key));
  const unused = [
    ...given.passphrases.map((_, i) => `passphrase #${i + 1}`).filter((k) => !used.has(k)),
    ...privateKeyFingerprints.filter((f) => !used.has(f)),
  ];
  return {
    usage,
    backups: catalog.backups.length,
    unopenable: usage.filter((u) => u.available === false).reduce((a, u) => a + u.count, 0),
    unused,
  };
}
