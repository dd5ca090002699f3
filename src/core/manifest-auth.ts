/**
 * Authenticated manifests. Whoever can write to the bucket must not be able to plant, edit, re-date or
 * replay a backup: every manifest has an authenticator beside it (`<manifest key>.sig`, written before the
 * manifest), made with a key bucket writers do not have, and every action acts only on manifests whose
 * authenticator checks out. Two schemes, both checkable with stock tools (docs/security.md):
 *
 * - `hmac-sha256` (passphrase mode, no new configuration): HMAC-SHA256 of the manifest's exact bytes, keyed
 *   by PBKDF2-HMAC-SHA256(passphrase, salt AUTH_SALT, AUTH_ITERATIONS, 32 bytes). The parameters are fixed
 *   here, never read from storage. The .sig object is one line: `pgdr-hmac-sha256-v1 <key id> <hex mac>`.
 *   openssl: `openssl kdf … PBKDF2` then `openssl dgst -sha256 -mac HMAC -macopt hexkey:…`.
 * - `openpgp` (public-key mode, and sets stored unencrypted): an ASCII-armored detached OpenPGP signature by
 *   the `signing-key`; the other jobs check it against `signing-public-key` with `gpg --verify`, judged by
 *   GnuPG's status lines (VALIDSIG of an expected primary fingerprint), not its exit code.
 *
 * The authenticator covers the whole manifest, which names its set, object key, time, size, SHA-256,
 * encryption and tables; the catalog then checks those against the key the manifest was listed under, so
 * a genuine manifest copied under another key or time does not authenticate as a backup.
 */
import { createHmac, pbkdf2 as pbkdf2Cb, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { CancelledError, UserError } from '../util/errors.js';
import { GpgSession, gpgBinary } from './pipeline/gpg.js';
import { runProcess } from './pipeline/process.js';
import type { Storage } from './storage/index.js';

const pbkdf2 = promisify(pbkdf2Cb);

/** Fixed key-derivation parameters (part of the format: changing them is a new scheme version). */
export const AUTH_SALT = 'postgres-dr/manifest-auth/v1';
export const AUTH_ITERATIONS = 600_000;
export const HMAC_TAG = 'pgdr-hmac-sha256-v1';

/** Caps on what is read from storage before it is authenticated. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
export const MAX_AUTHENTICATOR_BYTES = 64 * 1024;

export type AuthScheme = 'hmac-sha256' | 'openpgp';

/** Vouches for manifests this job writes (backup, restore's pre-restore backup, synth). */
export interface ManifestSigner {
  scheme: AuthScheme;
  sign(manifest: Buffer, signal?: AbortSignal): Promise<string>;
  /** The keys that authenticate what this signer signs (to find the set's earlier backups). */
  authKeys(): Promise<AuthKeys>;
  close(): Promise<void>;
}

export type AuthVerdict = { ok: true; scheme: AuthScheme; keyId: string } | { ok: false; reason: string };

/** Checks authenticators against the keys a job was given. */
export interface ManifestVerifier {
  /** For messages: which keys are tried. */
  describe(): string;
  verify(manifest: Buffer, authenticator: string, signal?: AbortSignal): Promise<AuthVerdict>;
  close(): Promise<void>;
}

export interface AuthKeys {
  /** Passphrases (rotation: several), for hmac-sha256. */
  passphrases?: string[];
  /** Armored OpenPGP public keys whose signatures are accepted. */
  signingPublicKeys?: string[];
}

const derived = new Map<string, Promise<Buffer>>();

/** PBKDF2 with the fixed parameters; cached per process. Abortable between derivations, bounded in cost. */
export async function deriveAuthKey(passphrase: string, signal?: AbortSignal): Promise<Buffer> {
  if (signal?.aborted) throw new CancelledError('cancelled while deriving the authentication key');
  let p = derived.get(passphrase);
  if (!p) {
    p = pbkdf2(passphrase, AUTH_SALT, AUTH_ITERATIONS, 32, 'sha256');
    derived.set(passphrase, p);
    p.catch(() => derived.delete(passphrase));
  }
  if (!signal) return p;
  return new Promise<Buffer>((resolve, reject) => {
    const onAbort = (): void => reject(new CancelledError('cancelled while deriving the authentication key'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function hmacKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('postgres-dr key id').digest('hex').slice(0, 16);
}

function hmacLine(key: Buffer, manifest: Buffer): string {
  return `${HMAC_TAG} ${hmacKeyId(key)} ${createHmac('sha256', key).update(manifest).digest('hex')}\n`;
}

/**
 * The key is derived in the background (libuv's thread pool) from the moment the signer is opened, so a
 * backup pays nothing for it: the dump runs meanwhile, and sign() waits only if the dump was quicker.
 */
export async function passphraseSigner(passphrase: string, signal?: AbortSignal): Promise<ManifestSigner> {
  const key = deriveAuthKey(passphrase, signal);
  key.catch(() => {}); // surfaced by sign()
  return {
    scheme: 'hmac-sha256',
    sign: async (manifest) => hmacLine(await key, manifest),
    authKeys: async () => ({ passphrases: [passphrase] }),
    close: async () => {},
  };
}

/** Signs with an armored OpenPGP secret key (`signing-key`), in a throwaway GnuPG home. */
export async function openpgpSigner(armoredSecretKey: string, passphrase: string | undefined): Promise<ManifestSigner> {
  const gpg = await GpgSession.create();
  try {
    const fprs = await gpg.importSecretKey(armoredSecretKey, passphrase, 'signing-key');
    if (fprs.length !== 1)
      throw new UserError(`'signing-key' must hold exactly one private key (found ${fprs.length})`);
    const fpr = fprs[0] as string;
    return {
      scheme: 'openpgp',
      async sign(manifest) {
        const file = path.join(gpg.home, 'manifest.json');
        await fs.writeFile(file, manifest);
        const sig = await runProcess(
          gpgBinary(),
          [
            ...gpg.baseArgs(),
            '--pinentry-mode',
            'loopback',
            '--passphrase-fd',
            '3',
            '--local-user',
            `${fpr}!`,
            '--armor',
            '--detach-sign',
            '--output',
            '-',
            file,
          ],
          { name: 'gpg --detach-sign', fd3: `${passphrase ?? ''}\n` },
        );
        if (!sig.includes('-----BEGIN PGP SIGNATURE-----')) throw new Error('gpg made no signature');
        return sig;
      },
      async authKeys() {
        const armored = await runProcess(gpgBinary(), [...gpg.baseArgs(), '--armor', '--export', `${fpr}!`], {
          name: 'gpg --export',
        });
        return { signingPublicKeys: splitArmoredPublicKeys(armored) };
      },
      close: () => gpg.close(),
    };
  } catch (err) {
    await gpg.close();
    throw err;
  }
}

/** The verifier for the keys a job holds; undefined when it holds none. */
export async function manifestVerifier(keys: AuthKeys): Promise<ManifestVerifier | undefined> {
  const passphrases = keys.passphrases ?? [];
  const publicKeys = keys.signingPublicKeys ?? [];
  if (!passphrases.length && !publicKeys.length) return undefined;
  let gpg: GpgSession | undefined;
  const fingerprints = new Set<string>();
  if (publicKeys.length) {
    gpg = await GpgSession.create();
    try {
      for (const k of publicKeys) fingerprints.add(await gpg.importPublicKey(k, 'signing-public-key'));
    } catch (err) {
      await gpg.close();
      throw err;
    }
  }
  return {
    describe: () =>
      [
        passphrases.length ? `${passphrases.length} passphrase(s)` : '',
        fingerprints.size ? `signing key(s) ${[...fingerprints].join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' and '),
    async verify(manifest, authenticator, signal) {
      const text = authenticator.trim();
      if (text.startsWith(`${HMAC_TAG} `)) {
        if (!passphrases.length) return { ok: false, reason: 'it is authenticated by a passphrase, and none is given' };
        const m = /^pgdr-hmac-sha256-v1 ([0-9a-f]{16}) ([0-9a-f]{64})$/.exec(text);
        if (!m) return { ok: false, reason: 'its authenticator is malformed' };
        const mac = Buffer.from(m[2] as string, 'hex');
        for (const p of passphrases) {
          const key = await deriveAuthKey(p, signal);
          const expected = createHmac('sha256', key).update(manifest).digest();
          if (timingSafeEqual(expected, mac)) return { ok: true, scheme: 'hmac-sha256', keyId: hmacKeyId(key) };
        }
        return { ok: false, reason: 'its authenticator does not match (edited, or made with another passphrase)' };
      }
      if (text.startsWith('-----BEGIN PGP SIGNATURE-----')) {
        if (!gpg)
          return { ok: false, reason: "it is signed with an OpenPGP key, and no 'signing-public-key' is given" };
        const fpr = await verifyDetached(gpg, manifest, `${text}\n`);
        if (fpr && fingerprints.has(fpr)) return { ok: true, scheme: 'openpgp', keyId: fpr };
        return {
          ok: false,
          reason: fpr ? `it is signed by ${fpr}, not a given signing key` : 'its OpenPGP signature does not verify',
        };
      }
      return { ok: false, reason: 'its authenticator is of no known kind' };
    },
    close: async () => gpg?.close(),
  };
}

/** The primary-key fingerprint of a good signature over `data`, or null; judged by status lines only. */
async function verifyDetached(gpg: GpgSession, data: Buffer, signature: string): Promise<string | null> {
  const dir = await fs.mkdtemp(path.join(gpg.home, 'v-'));
  try {
    const dataFile = path.join(dir, 'data');
    const sigFile = path.join(dir, 'data.sig');
    await fs.writeFile(dataFile, data);
    await fs.writeFile(sigFile, signature);
    let status: string;
    try {
      status = await runProcess(
        gpgBinary(),
        [...gpg.baseArgs(), '--status-fd', '1', '--trust-model', 'always', '--verify', sigFile, dataFile],
        { name: 'gpg --verify' },
      );
    } catch {
      return null;
    }
    const lines = status.split('\n').filter((l) => l.startsWith('[GNUPG:] '));
    const has = (kw: string): boolean => lines.some((l) => l.startsWith(`[GNUPG:] ${kw} `) || l === `[GNUPG:] ${kw}`);
    if (has('BADSIG') || has('ERRSIG') || has('EXPKEYSIG') || has('REVKEYSIG') || !has('GOODSIG')) return null;
    const valid = lines.filter((l) => l.startsWith('[GNUPG:] VALIDSIG '));
    if (valid.length !== 1) return null;
    const f = (valid[0] as string).split(' ');
    return f[11] ?? null;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Reads a whole object, refusing one larger than `max` bytes (what storage says is hostile input). */
export async function readCapped(storage: Storage, key: string, max: number, signal?: AbortSignal): Promise<Buffer> {
  const stream: Readable = await storage.read(key, { signal });
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > max) throw new TooLargeError(`${key} is larger than ${max} bytes`);
      chunks.push(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

export class TooLargeError extends Error {
  override name = 'TooLargeError';
}

/** How a job that writes backups vouches for them: its passphrase, or a signing key. */
export type SignerConfig =
  | { kind: 'hmac'; passphrase: string }
  | { kind: 'openpgp'; armoredKey: string; passphrase?: string };

export function openSigner(cfg: SignerConfig, signal?: AbortSignal): Promise<ManifestSigner> {
  return cfg.kind === 'hmac' ? passphraseSigner(cfg.passphrase, signal) : openpgpSigner(cfg.armoredKey, cfg.passphrase);
}

/** Splits a text holding several armored OpenPGP public keys (key rotation) into one block each. */
export function splitArmoredPublicKeys(text: string): string[] {
  return [...text.matchAll(/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g)].map(
    (m) => `${m[0]}\n`,
  );
}

/**
 * Commits a backup: its authenticator first, then the manifest (the commit point). If the manifest cannot
 * be written, the authenticator is removed again (best effort: a lone .sig is ignored by everything).
 */
export async function writeAuthenticatedManifest(
  storage: Storage,
  manifestKey: string,
  manifestText: string,
  signer: ManifestSigner,
  options: { signal?: AbortSignal; retainUntil?: { date: Date; mode: 'COMPLIANCE' | 'GOVERNANCE' } } = {},
): Promise<void> {
  const bytes = Buffer.from(manifestText, 'utf8');
  const authenticator = await signer.sign(bytes, options.signal);
  const authKey = `${manifestKey}.sig`;
  await storage.writeText(authKey, authenticator, options);
  try {
    await storage.writeText(manifestKey, manifestText, options);
  } catch (err) {
    await storage.delete([authKey]).catch(() => {});
    throw err;
  }
}
