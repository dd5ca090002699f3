/**
 * Key pairs, made by GnuPG in a throwaway home and exported armored into two 0600 files:
 * - `encryption` (public-key mode): the backup job holds only the public key (it can encrypt but never
 *   decrypt what it wrote); the private key lives in a protected environment used by restore tests and restores.
 * - `signing`: the backup job holds the private key and signs each manifest with it; every job that reads
 *   backups holds only the public key, so bucket writers can neither plant nor edit a backup (manifest-auth.ts).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { GpgSession, gpgBinary } from './pipeline/gpg.js';
import { runProcess } from './pipeline/process.js';

export type KeyAlgorithm = 'ed25519' | 'rsa4096';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ed25519', 'rsa4096'];

/** `gpg --quick-gen-key` / `--quick-add-key` algorithms: a certifying primary key, an encryption subkey. */
export const KEYGEN_ALGOS: Record<KeyAlgorithm, { primary: string; encryption: string }> = {
  ed25519: { primary: 'ed25519', encryption: 'cv25519' },
  rsa4096: { primary: 'rsa4096', encryption: 'rsa4096' },
};

export type KeyPurpose = 'encryption' | 'signing';
export const KEY_PURPOSES: readonly KeyPurpose[] = ['encryption', 'signing'];

export interface KeygenConfig {
  outputDir: string;
  purpose: KeyPurpose;
  algorithm: KeyAlgorithm;
  /** User ID, e.g. "postgres-dr backups <ops@example.com>". */
  uid: string;
  /** Protects the private key; empty: unprotected (then the file itself is the secret). */
  passphrase?: string;
}

export interface KeygenResult {
  fingerprint: string;
  publicKeyFile: string;
  privateKeyFile: string;
  algorithm: KeyAlgorithm;
  uid: string;
  protectedByPassphrase: boolean;
  purpose: KeyPurpose;
}

export const PUBLIC_KEY_FILE = 'pgdr-backup-public.asc';
export const PRIVATE_KEY_FILE = 'pgdr-backup-private.asc';
export const SIGNING_PUBLIC_KEY_FILE = 'pgdr-signing-public.asc';
export const SIGNING_PRIVATE_KEY_FILE = 'pgdr-signing-private.asc';

export async function generateKeyPair(cfg: KeygenConfig): Promise<KeygenResult> {
  const dir = path.resolve(cfg.outputDir);
  const signing = cfg.purpose === 'signing';
  const publicKeyFile = path.join(dir, signing ? SIGNING_PUBLIC_KEY_FILE : PUBLIC_KEY_FILE);
  const privateKeyFile = path.join(dir, signing ? SIGNING_PRIVATE_KEY_FILE : PRIVATE_KEY_FILE);
  for (const f of [publicKeyFile, privateKeyFile]) {
    if (await fs.stat(f).catch(() => null)) {
      throw new UserError(`'output': ${f} already exists; move it away or choose another directory`);
    }
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });

  const gpg = await GpgSession.create();
  const pass = cfg.passphrase ?? '';
  // The passphrase goes through fd 3 (never argv); an empty line means "no protection".
  const base = ['--homedir', gpg.home, '--batch', '--no-tty', '--quiet', '--pinentry-mode', 'loopback'];
  const withPass = [...base, '--passphrase-fd', '3'];
  const algos = KEYGEN_ALGOS[cfg.algorithm];
  try {
    await runProcess(gpgBinary(), [...withPass, '--quick-gen-key', cfg.uid, algos.primary, 'cert,sign', 'never'], {
      name: 'gpg --quick-gen-key',
      fd3: `${pass}\n`,
    });
    const colons = await runProcess(gpgBinary(), [...base, '--with-colons', '--fingerprint', '--list-keys'], {
      name: 'gpg --list-keys',
    });
    const fingerprint = /^fpr:+([0-9A-F]{40,64}):/m.exec(colons)?.[1];
    if (!fingerprint) throw new Error('gpg made a key but listed no fingerprint');
    // A signing key is the primary key alone (cert,sign); an encryption key gets its encryption subkey.
    if (!signing) {
      await runProcess(gpgBinary(), [...withPass, '--quick-add-key', fingerprint, algos.encryption, 'encr', 'never'], {
        name: 'gpg --quick-add-key',
        fd3: `${pass}\n`,
      });
    }
    const publicKey = await runProcess(gpgBinary(), [...base, '--armor', '--export', fingerprint], {
      name: 'gpg --export',
    });
    const privateKey = await runProcess(gpgBinary(), [...withPass, '--armor', '--export-secret-keys', fingerprint], {
      name: 'gpg --export-secret-keys',
      fd3: `${pass}\n`,
    });
    if (!privateKey.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) throw new Error('gpg exported no private key');
    // O_EXCL: never overwrite a key someone already relies on.
    await fs.writeFile(publicKeyFile, publicKey, { mode: 0o600, flag: 'wx' });
    await fs.writeFile(privateKeyFile, privateKey, { mode: 0o600, flag: 'wx' });
    return {
      fingerprint,
      publicKeyFile,
      privateKeyFile,
      algorithm: cfg.algorithm,
      uid: cfg.uid,
      protectedByPassphrase: pass.length > 0,
      purpose: cfg.purpose,
    };
  } finally {
    await gpg.close();
  }
}
