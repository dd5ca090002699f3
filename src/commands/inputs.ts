/**
 * Reading user input, shared by the actions (core.getInput) and the CLI (flags and PGDR_* environment):
 * both hand over a getter, and every parse error names the input and says what to change.
 */
import os from 'node:os';
import type { BackupConfig, EncryptionConfig } from '../core/backup.js';
import type { BackupSelector, DecryptionConfig } from '../core/fetch.js';
import { parsePassphrases } from '../core/keys.js';
import { validateName } from '../core/layout.js';
import { checkPassphrase } from '../core/pipeline/gpg.js';
import { type Destination, openStorage, parseDestination, type Storage } from '../core/storage/index.js';
import { UserError } from '../util/errors.js';
import { registerSecret } from '../util/secrets.js';
import { tempRoot } from '../util/temp.js';
import { parseBoolean, parseChoice, parseIntInput } from '../util/units.js';

/** Returns the raw value of an input (kebab-case name), or '' when not given. */
export type InputGetter = (name: string) => string;

export function secretInput(get: InputGetter, name: string): string {
  const v = get(name);
  registerSecret(v);
  return v;
}

export interface DestinationConfig {
  destination: Destination;
  s3: {
    endpoint?: string;
    region?: string;
    forcePathStyle?: boolean;
    sse?: 'AES256' | 'aws:kms';
    sseKmsKeyId?: string;
  };
}

export function readDestination(get: InputGetter, prefix = ''): DestinationConfig {
  const destination = parseDestination(get(`${prefix}destination`), `${prefix}destination`);
  const endpoint = get(`${prefix}s3-endpoint`).trim() || undefined;
  if (endpoint) {
    let u: URL;
    try {
      u = new URL(endpoint);
    } catch {
      throw new UserError(
        `'${prefix}s3-endpoint' must be a URL like https://minio.example.com:9000 (got '${endpoint}')`,
      );
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new UserError(`'${prefix}s3-endpoint' must start with http:// or https://`);
    }
    if (u.username || u.password) {
      throw new UserError(
        `'${prefix}s3-endpoint' must not hold credentials; use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY`,
      );
    }
  }
  const fps = get(`${prefix}s3-force-path-style`);
  return {
    destination,
    s3: {
      endpoint,
      region: get(`${prefix}s3-region`).trim() || undefined,
      forcePathStyle: fps.trim() ? parseBoolean(fps, `${prefix}s3-force-path-style`) : undefined,
    },
  };
}

/** S3 server-side encryption for objects this command writes (`sse`, `sse-kms-key-id`). */
export function readServerSideEncryption(get: InputGetter): Pick<DestinationConfig['s3'], 'sse' | 'sseKmsKeyId'> {
  const sseRaw = get('sse');
  const sse = sseRaw ? parseChoice(sseRaw, 'sse', ['aes256', 'aws:kms'] as const) : undefined;
  const sseKmsKeyId = get('sse-kms-key-id').trim() || undefined;
  if (sseKmsKeyId && sse !== 'aws:kms') throw new UserError(`'sse-kms-key-id' needs 'sse: aws:kms'`);
  return { sse: sse === 'aes256' ? 'AES256' : sse, sseKmsKeyId };
}

export function storageFor(cfg: DestinationConfig): Storage {
  return openStorage(cfg.destination, cfg.s3);
}

/**
 * The key a backup encrypts with. `several: 'first'` (restore's pre-restore backup) accepts a rotation
 * list of passphrases, one per line, and encrypts with the first (the current one).
 */
export function readEncryption(get: InputGetter, several: 'refuse' | 'first' = 'refuse'): EncryptionConfig {
  const mode = get('encryption')
    ? parseChoice(get('encryption'), 'encryption', ['openpgp', 'none'] as const)
    : 'openpgp';
  const given = secretInput(get, 'encryption-passphrase');
  const passphrase = several === 'first' ? (parsePassphrases(given)[0] ?? '') : given;
  const publicKey = get('encryption-public-key');
  if (mode === 'none') {
    if (passphrase || publicKey) {
      throw new UserError(
        `'encryption: none' conflicts with the key given in 'encryption-${passphrase ? 'passphrase' : 'public-key'}'`,
      );
    }
    return { kind: 'none' };
  }
  if (passphrase && publicKey) {
    throw new UserError(`give either 'encryption-passphrase' or 'encryption-public-key', not both`);
  }
  if (passphrase) {
    checkPassphrase(passphrase, 'encryption-passphrase');
    return { kind: 'passphrase', passphrase };
  }
  if (publicKey) return { kind: 'public-key', armoredKey: publicKey };
  throw new UserError(
    `backups are encrypted: set 'encryption-passphrase' (a secret) or 'encryption-public-key' (an armored OpenPGP public key), ` +
      `or set 'encryption: none' to store them unencrypted`,
  );
}

/** `object-lock-days` / `object-lock-mode`: S3 Object Lock retention, refused for local directories. */
export function readObjectLock(get: InputGetter, destinations: DestinationConfig[]): BackupConfig['objectLock'] {
  const rawDays = get('object-lock-days');
  const rawMode = get('object-lock-mode');
  if (!rawDays) {
    if (rawMode) throw new UserError(`'object-lock-mode' needs 'object-lock-days'`);
    return undefined;
  }
  const days = parseIntInput(rawDays, 'object-lock-days', { min: 1, max: 36_500 });
  const mode = rawMode
    ? (parseChoice(rawMode, 'object-lock-mode', ['governance', 'compliance'] as const).toUpperCase() as
        | 'GOVERNANCE'
        | 'COMPLIANCE')
    : 'GOVERNANCE';
  for (const [i, d] of destinations.entries()) {
    if (d.destination.kind !== 's3') {
      throw new UserError(
        `'object-lock-days' needs S3 storage with Object Lock: '${i === 0 ? 'destination' : 'replica-destination'}' is a local directory (${d.destination.url}); remove 'object-lock-days' or use an s3:// destination`,
      );
    }
  }
  return { days, mode };
}

/** `replica-destination` (+ `replica-s3-*`): a second destination; the same `sse` applies to it. */
export function readReplica(get: InputGetter, primary: DestinationConfig): DestinationConfig | undefined {
  if (!get('replica-destination')) {
    for (const n of ['replica-s3-endpoint', 'replica-s3-region', 'replica-s3-force-path-style']) {
      if (get(n)) throw new UserError(`'${n}' is set but 'replica-destination' is not`);
    }
    return undefined;
  }
  const base = readDestination(get, 'replica-');
  const replica = { ...base, s3: { ...base.s3, ...readServerSideEncryption(get) } };
  if (replica.destination.url === primary.destination.url && replica.s3.endpoint === primary.s3.endpoint) {
    throw new UserError(`'replica-destination' must differ from 'destination' (both are ${primary.destination.url})`);
  }
  return replica;
}

/** The keys that open a backup: a passphrase, or private key(s) with their passphrase. */
export function readDecryption(get: InputGetter): DecryptionConfig {
  const passphrase = secretInput(get, 'encryption-passphrase') || undefined;
  const privateKey = secretInput(get, 'encryption-private-key') || undefined;
  const privateKeyPassphrase = secretInput(get, 'encryption-private-key-passphrase') || undefined;
  if (privateKeyPassphrase && !privateKey) {
    throw new UserError(`'encryption-private-key-passphrase' is set but 'encryption-private-key' is not`);
  }
  if (privateKey && !/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(privateKey)) {
    throw new UserError(
      `'encryption-private-key' must be an ASCII-armored OpenPGP private key (-----BEGIN PGP PRIVATE KEY BLOCK-----), e.g. from gpg --export-secret-keys --armor`,
    );
  }
  const allowUnencrypted = get('allow-unencrypted')
    ? parseBoolean(get('allow-unencrypted'), 'allow-unencrypted')
    : false;
  return { passphrase, privateKey, privateKeyPassphrase, allowUnencrypted };
}

/** `backup` (latest or a key) and `name`; `file` is verify's `backup-file` ('' elsewhere). */
export function readSelector(get: InputGetter, file: string): BackupSelector {
  const backup = get('backup') || 'latest';
  const name = get('name') ? validateName(get('name')) : undefined;
  if (file) {
    if (backup !== 'latest') throw new UserError(`give either 'backup' or 'backup-file', not both`);
    if (get('destination')) throw new UserError(`give either 'destination' or 'backup-file', not both`);
    return { kind: 'file', path: file };
  }
  if (backup === 'latest') return { kind: 'latest', name };
  if (/\s/.test(backup) || backup.startsWith('/')) {
    throw new UserError(
      `'backup' must be 'latest' or an object key like <prefix>/<name>/YYYY/MM/DD/<name>-…Z.sql.gz.gpg (got '${backup}')`,
    );
  }
  return { kind: 'key', key: backup };
}

export function readJobs(get: InputGetter): number {
  return get('jobs') ? parseIntInput(get('jobs'), 'jobs', { min: 1, max: 64 }) : 2;
}

export function tempDir(): string {
  return tempRoot();
}

/** Splits a comma- or newline-separated list input. */
export function parseList(value: string): string[] {
  return value
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}
