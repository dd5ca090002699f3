/**
 * The keys that open a backup. Several may be given at once, for key rotation (one passphrase per line,
 * several armored private keys one after the other): the one the manifest names is picked, and checked
 * against the manifest before any download.
 */
import { IntegrityError, UserError } from '../../util/errors.js';
import type { Manifest } from '../manifest.js';
import { type GpgSession, passphraseMatches } from '../pipeline/gpg.js';

export interface DecryptionConfig {
  passphrase?: string;
  /** ASCII-armored OpenPGP private key(s). */
  privateKey?: string;
  privateKeyPassphrase?: string;
  /** `allow-unencrypted`: accept a backup whose manifest says unencrypted although a key is configured. */
  allowUnencrypted?: boolean;
}

/**
 * With a key configured, encryption is mandatory on read: whoever can write to the bucket could replace an
 * encrypted backup and its manifest with a plain one of their own.
 */
function unencryptedRefused(manifest: Manifest): IntegrityError {
  return new IntegrityError(
    `${manifest.object.key} is not encrypted (its manifest says encryption.scheme: none) although a decryption key is configured: refused, as anyone who can write to the storage could have put it there; set 'allow-unencrypted: true' if this backup is meant to be unencrypted`,
    'decrypt',
  );
}

/** The passphrases of an `encryption-passphrase` input: one per line, blank lines ignored. */
export function parsePassphrases(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** How many armored private key blocks a text holds. */
export function countPrivateKeyBlocks(text: string): number {
  return text.match(/-----BEGIN PGP PRIVATE KEY BLOCK-----/g)?.length ?? 0;
}

/** A short, safe label for a manifest's key: the OpenPGP fingerprint, or "a passphrase". */
export function describeKey(m: Manifest): string {
  const f = m.encryption.keyFingerprint;
  if (m.encryption.scheme === 'openpgp-public-key') return `the public key ${f ?? '(fingerprint not recorded)'}`;
  if (m.encryption.scheme === 'openpgp-passphrase') {
    return f ? `a passphrase (${f.split(':').slice(0, 2).join(':')} digest in the manifest)` : 'a passphrase';
  }
  return 'no key';
}

/**
 * Which of `passphrases` the manifest's PBKDF2 digest names: its index, or -1 when none does. With no
 * digest (or one in a form this version cannot check) every passphrase is a candidate: returns 0 for a
 * single passphrase, else -1 (gpg would have to try them one by one).
 */
export async function matchPassphrase(fingerprint: string | null, passphrases: string[]): Promise<number> {
  if (!fingerprint || !/^pbkdf2-sha256:/.test(fingerprint)) return passphrases.length === 1 ? 0 : -1;
  for (let i = 0; i < passphrases.length; i++) {
    if (await passphraseMatches(passphrases[i] as string, fingerprint)) return i;
  }
  return -1;
}

/**
 * The passphrase that opens a passphrase-encrypted backup, among several (key rotation). Throws a
 * UserError when none is given, an IntegrityError 'wrong-key' when none matches the manifest.
 */
export async function choosePassphrase(manifest: Manifest, passphrases: string[]): Promise<string> {
  if (passphrases.length === 0) {
    throw new UserError(`this backup is encrypted with a passphrase: set 'encryption-passphrase'`);
  }
  const fpr = manifest.encryption.keyFingerprint;
  const i = await matchPassphrase(fpr, passphrases);
  if (i >= 0) return passphrases[i] as string;
  if (!fpr || !/^pbkdf2-sha256:/.test(fpr)) {
    throw new UserError(
      `this backup's manifest does not identify its passphrase, so 'encryption-passphrase' must hold exactly one (it holds ${passphrases.length})`,
    );
  }
  throw new IntegrityError(
    passphrases.length === 1
      ? `wrong key: 'encryption-passphrase' is not the passphrase this backup was encrypted with`
      : `wrong key: the backup was encrypted with ${describeKey(manifest)}; none of the ${passphrases.length} passphrases in 'encryption-passphrase' matches`,
    'wrong-key',
  );
}

/** Checks that one of the imported private keys is the one the backup was encrypted to. */
export function checkPrivateKeys(manifest: Manifest, imported: string[]): void {
  const expected = manifest.encryption.keyFingerprint;
  if (!expected || imported.includes(expected)) return;
  throw new IntegrityError(
    `wrong key: this backup was encrypted to ${expected}, but 'encryption-private-key' holds ${imported.join(', ') || 'no usable key'}; none of the given keys matches`,
    'wrong-key',
  );
}

/**
 * Checks the given keys against what the manifest records, before any download: passphrases (one per
 * line) against its PBKDF2 digest, private keys against the recipient's fingerprint. Imports private keys into `gpg`.
 * Returns the passphrase gpg needs (the message's, or the private key's).
 */
export async function prepareDecryption(
  manifest: Manifest,
  d: DecryptionConfig,
  gpg: GpgSession | undefined,
): Promise<string | undefined> {
  const scheme = manifest.encryption.scheme;
  if (scheme === 'none') {
    if ((d.passphrase || d.privateKey) && !d.allowUnencrypted) throw unencryptedRefused(manifest);
    return undefined;
  }
  if (!gpg) throw new Error('a gpg session is needed to decrypt');
  // Several keys may be given (key rotation): the one the manifest names is used.
  if (scheme === 'openpgp-passphrase') return choosePassphrase(manifest, parsePassphrases(d.passphrase));
  if (!d.privateKey) {
    throw new UserError(
      `this backup is encrypted to the public key ${manifest.encryption.keyFingerprint ?? '(unknown)'}: set 'encryption-private-key' to its private key`,
    );
  }
  checkPrivateKeys(manifest, await gpg.importSecretKey(d.privateKey, d.privateKeyPassphrase));
  return d.privateKeyPassphrase;
}
