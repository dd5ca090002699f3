/**
 * Reading user input, shared by the actions (core.getInput) and the CLI (flags and PGDR_* environment):
 * both hand over a getter, and every parse error names the input and says what to change.
 */
import type { BackupConfig } from '../core/backup.js';
import { type DecryptionConfig, parsePassphrases } from '../core/backups/decrypt.js';
import type { EncryptionConfig } from '../core/backups/dump.js';
import type { BackupSelector } from '../core/backups/locate.js';
import { HEARTBEAT_STYLES, type Heartbeat } from '../core/heartbeat.js';
import { validateName } from '../core/layout.js';
import { type AuthKeys, type SignerConfig, splitArmoredPublicKeys } from '../core/manifest-auth.js';
import { checkPassphrase } from '../core/pipeline/gpg.js';
import { type Destination, openStorage, parseDestination, type Storage } from '../core/storage/index.js';
import { withStorageFailures } from '../core/storage/tagged.js';
import { UserError } from '../util/errors.js';
import { tempRoot } from '../util/temp.js';
import { parseBoolean, parseChoice, parseIntInput } from '../util/units.js';
import type { InputGetter, InputSpec } from './schema.js';

export type { InputGetter } from './schema.js';

/** `destination` and the `s3-*` inputs every command that reads storage takes. */
export function destinationInputs(
  description: string,
  options: { required?: boolean } = {},
): Record<string, InputSpec> {
  return {
    destination: { description, ...(options.required ? { required: true } : {}), cliAliases: ['output', 'o'] },
    's3-endpoint': {
      description:
        'S3 API endpoint for MinIO, R2 and other S3-compatible services (e.g. https://minio.example.com:9000). AWS_ENDPOINT_URL_S3 works too. Empty: AWS S3.',
    },
    's3-region': { description: 'Region of the bucket. Empty: AWS_REGION, else us-east-1.' },
    's3-force-path-style': {
      description:
        'Address the bucket as https://endpoint/bucket (MinIO and most self-hosted servers). Default: true when s3-endpoint is set.',
      type: 'boolean',
    },
  };
}

export interface DestinationConfig {
  destination: Destination;
  s3: {
    endpoint?: string;
    region?: string;
    /** The input that set `region` (s3-region, replica-s3-region), for errors that name it. */
    regionInput?: string;
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
      regionInput: `${prefix}s3-region`,
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

/** The storage of a destination; its errors are marked as storage failures (for `failure-kind`). */
export function storageFor(cfg: DestinationConfig): Storage {
  return withStorageFailures(openStorage(cfg.destination, cfg.s3));
}

/**
 * The key a backup encrypts with. `several: 'first'` (restore's pre-restore backup) accepts a rotation
 * list of passphrases, one per line, and encrypts with the first (the current one).
 */
export function readEncryption(get: InputGetter, several: 'refuse' | 'first' = 'refuse'): EncryptionConfig {
  const mode = parseChoice(get('encryption'), 'encryption', ['openpgp', 'none'] as const);
  const given = get('encryption-passphrase');
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
  const passphrase = get('encryption-passphrase') || undefined;
  const privateKey = get('encryption-private-key') || undefined;
  const privateKeyPassphrase = get('encryption-private-key-passphrase') || undefined;
  if (privateKeyPassphrase && !privateKey) {
    throw new UserError(`'encryption-private-key-passphrase' is set but 'encryption-private-key' is not`);
  }
  if (privateKey && !/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(privateKey)) {
    throw new UserError(
      `'encryption-private-key' must be an ASCII-armored OpenPGP private key (-----BEGIN PGP PRIVATE KEY BLOCK-----), e.g. from gpg --export-secret-keys --armor`,
    );
  }
  const allowUnencrypted = parseBoolean(get('allow-unencrypted'), 'allow-unencrypted');
  return { passphrase, privateKey, privateKeyPassphrase, allowUnencrypted };
}

/** `before:2026-11-25T03:17:00Z`: an ISO 8601 UTC time (seconds and fractions optional, Z required). */
export function parseBefore(value: string): Date {
  const t = value.trim();
  const ms = Date.parse(t);
  // Date.parse rolls 2026-02-30 over into March and accepts 24:00: the round trip must give the same fields.
  const exact = !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 16) === t.slice(0, 16);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(t) || !exact) {
    throw new UserError(
      `'backup': 'before:${t}' needs a UTC time in ISO 8601, like before:2026-11-25T03:17:00Z (the newest backup taken strictly before it)`,
    );
  }
  return new Date(ms);
}

/** `backup` (latest, before:<time> or a key) and `name`; `file` is verify's `backup-file` ('' elsewhere). */
export function readSelector(get: InputGetter, file: string): BackupSelector {
  const backup = get('backup');
  const name = get('name') ? validateName(get('name')) : undefined;
  if (file) {
    if (backup !== 'latest') throw new UserError(`give either 'backup' or 'backup-file', not both`);
    if (get('destination')) throw new UserError(`give either 'destination' or 'backup-file', not both`);
    return { kind: 'file', path: file };
  }
  if (backup === 'latest') return { kind: 'latest', name };
  if (backup.startsWith('before:')) return { kind: 'before', time: parseBefore(backup.slice('before:'.length)), name };
  if (/\s/.test(backup) || backup.startsWith('/')) {
    throw new UserError(
      `'backup' must be 'latest', 'before:<UTC time>' or an object key like <prefix>/<name>/YYYY/MM/DD/<name>-…Z.sql.gz.gpg (got '${backup}')`,
    );
  }
  return { kind: 'key', key: backup };
}

export function readJobs(get: InputGetter): number {
  return parseIntInput(get('jobs'), 'jobs', { min: 1, max: 64 });
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

/** The inputs that vouch for the backups a command writes (backup; restore's pre-restore backup). */
export const SIGNING_INPUTS: Record<string, InputSpec> = {
  'signing-key': {
    description:
      "ASCII-armored OpenPGP private key that signs each backup's manifest (make one with `pgdr keygen --purpose signing`). Required with encryption-public-key or encryption: none; with a passphrase, the passphrase authenticates the manifests unless this is given. Bucket writers without it cannot plant or edit a backup.",
    secret: true,
    type: 'text',
  },
  'signing-key-passphrase': { description: 'Passphrase of signing-key, if it has one.', secret: true },
};

/** The inputs that authenticate the backups a command reads (verify, restore, prune, monitor, notify, keys). */
export const SIGNING_PUBLIC_KEY_INPUT: Record<string, InputSpec> = {
  'signing-public-key': {
    description:
      'ASCII-armored OpenPGP public key(s) of the signing-key the backups are signed with (public-key mode and unencrypted sets). Several keys, one block after another, during a rotation. Backups whose manifest does not authenticate are never restored, pruned or counted.',
    type: 'text',
  },
};

/** For commands that only read the catalog (prune, monitor, notify, keys): the passphrase authenticates. */
export const AUTH_PASSPHRASE_INPUT: Record<string, InputSpec> = {
  'encryption-passphrase': {
    description:
      "The backups' passphrase (passphrase mode), used only to authenticate their manifests: nothing is decrypted. Several, one per line, during a key rotation.",
    secret: true,
    type: 'text',
  },
};

/** The private key a public-key backup is decrypted with (verify, restore; read by readDecryption). */
export const PRIVATE_KEY_INPUTS: Record<string, InputSpec> = {
  'encryption-private-key': {
    description:
      'ASCII-armored OpenPGP private key, for backups encrypted to a public key (pass a secret). For key rotation, several armored private keys one after the other: the one the backup was encrypted to is used.',
    secret: true,
  },
  'encryption-private-key-passphrase': {
    description: 'Passphrase of encryption-private-key, if it has one (pass a secret).',
    secret: true,
  },
};

export const ALLOW_UNENCRYPTED_INPUT: Record<string, InputSpec> = {
  'allow-unencrypted': {
    description:
      'With a decryption key configured, a backup whose manifest says it is unencrypted is refused (anyone who can write to the storage could have put it there). Set true to accept unencrypted backups anyway.',
    default: 'false',
    type: 'boolean',
  },
};

export const ALLOW_UNAUTHENTICATED_INPUT: Record<string, InputSpec> = {
  'allow-unauthenticated': {
    description:
      "The exact object key (or backup-file path) of ONE backup whose manifest does not authenticate — a backup written before postgres-dr authenticated manifests — to use anyway, with a loud warning. Never applies to 'latest'. Anyone who can write to the bucket can make such a backup: check it is yours first.",
  },
};

/** How the backups this command writes are authenticated: `signing-key`, else the encryption passphrase. */
export function readSigner(get: InputGetter, encryption: EncryptionConfig): SignerConfig {
  const armoredKey = get('signing-key');
  const passphrase = get('signing-key-passphrase') || undefined;
  if (passphrase && !armoredKey) throw new UserError(`'signing-key-passphrase' is set but 'signing-key' is not`);
  if (armoredKey) {
    if (!/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(armoredKey)) {
      throw new UserError(
        `'signing-key' must be an ASCII-armored OpenPGP private key (-----BEGIN PGP PRIVATE KEY BLOCK-----), from pgdr keygen --purpose signing`,
      );
    }
    return { kind: 'openpgp', armoredKey, passphrase };
  }
  if (encryption.kind === 'passphrase') return { kind: 'hmac', passphrase: encryption.passphrase };
  throw new UserError(
    encryption.kind === 'none'
      ? `'encryption: none' needs 'signing-key' (an OpenPGP private key; make one with pgdr keygen --purpose signing): without it nobody can tell your backups from ones planted in the bucket`
      : `'encryption-public-key' needs 'signing-key' (an OpenPGP private key; make one with pgdr keygen --purpose signing): the backup job cannot decrypt, so a separate key vouches for its backups`,
  );
}

/** The keys that authenticate manifests: the passphrase(s) and/or signing public key(s). */
export function readAuthKeys(get: InputGetter): AuthKeys {
  const passphrases = parsePassphrases(get('encryption-passphrase'));
  const text = get('signing-public-key');
  const signingPublicKeys = text ? splitArmoredPublicKeys(text) : [];
  if (text && !signingPublicKeys.length) {
    throw new UserError(
      `'signing-public-key' must hold ASCII-armored OpenPGP public keys (-----BEGIN PGP PUBLIC KEY BLOCK-----)`,
    );
  }
  return { passphrases, signingPublicKeys };
}

/** prune and monitor act on nothing they cannot authenticate: no key is a configuration error, said up front. */
export function requireAuthKeys(keys: AuthKeys, command: string): AuthKeys {
  if (keys.passphrases?.length || keys.signingPublicKeys?.length) return keys;
  throw new UserError(
    `${command} acts only on authenticated backups: set 'encryption-passphrase' (backups encrypted with a passphrase) or 'signing-public-key' (backups signed with a signing-key); nothing was ${command === 'prune' ? 'deleted' : 'checked'}`,
  );
}

/** `heartbeat-url` / `heartbeat-style` (backup, monitor, notify): a dead-man's switch (core/heartbeat.ts). */
export function heartbeatInputs(when: string): Record<string, InputSpec> {
  return {
    'heartbeat-url': {
      description: `Dead-man's switch: a check URL of healthchecks.io (or Cronitor, …; see heartbeat-style) pinged ${when}. The service alerts when the pings stop, e.g. when GitHub pauses the schedule. Pass a secret. A ping that fails is a warning, never a failed job.`,
      secret: true,
    },
    'heartbeat-style': {
      description:
        "How heartbeat-url is pinged: healthchecks (<url>/start, <url>, <url>/fail), cronitor (<url>?state=run|complete|fail) or plain (<url> on success only: Dead Man's Snitch, Uptime Kuma, Better Stack).",
      default: 'healthchecks',
      choices: HEARTBEAT_STYLES,
    },
  };
}

export function readHeartbeat(get: InputGetter): Heartbeat | undefined {
  const style = parseChoice(get('heartbeat-style'), 'heartbeat-style', HEARTBEAT_STYLES);
  const url = get('heartbeat-url');
  if (!url) return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError("'heartbeat-url' must be an https:// URL (got something that is not a URL)");
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UserError("'heartbeat-url' must be an https:// URL");
  return { url, style };
}
