/**
 * Finding a backup and streaming it back, checked against its manifest: shared by verify and restore.
 *
 *   storage → SHA-256 + size check → gpg --decrypt → gunzip / zstd -d → sink (psql, pg_restore, a file)
 *
 * Nothing that comes out of the chain counts until the whole chain has ended cleanly (gpg exit 0 with
 * its MDC check passed, size and SHA-256 equal to the manifest's). When any stage fails first — gpg,
 * gunzip and psql all see a damaged stream before the hash is complete — the object is read again to
 * say why: corrupted, truncated, or intact (then the stage's own error stands: wrong key, a bad dump).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CancelledError, describeError, IntegrityError, UserError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { formatBytes } from '../util/units.js';
import { type Backup, type BrokenManifest, readCatalog } from './catalog.js';
import { checkPrivateKeys, choosePassphrase, parsePassphrases } from './keys.js';
import { DATA_EXTENSIONS, manifestKeyFor, parseKey } from './layout.js';
import { type Manifest, parseManifest } from './manifest.js';
import { decompressStage } from './pipeline/compress.js';
import type { GpgSession } from './pipeline/gpg.js';
import { HashStage } from './pipeline/streams.js';
import { hashStored, type Storage } from './storage/index.js';
import { LocalStorage } from './storage/local.js';

export type BackupSelector =
  | { kind: 'latest'; name?: string }
  | { kind: 'key'; key: string }
  /** A local file with `<stem>.manifest.json` beside it. */
  | { kind: 'file'; path: string };

export interface DecryptionConfig {
  passphrase?: string;
  /** ASCII-armored OpenPGP private key(s). */
  privateKey?: string;
  privateKeyPassphrase?: string;
  /** `allow-unencrypted`: accept a backup whose manifest says unencrypted although a key is configured. */
  allowUnencrypted?: boolean;
}

/** A backup found and its manifest read; `storage` + `dataKey` reach the data object. */
export interface LocatedBackup {
  manifest: Manifest;
  manifestKey: string;
  dataKey: string;
  storage: Storage;
  /** For messages: `s3://bucket/key` or a path. */
  label: string;
  /** Newer backups that were skipped by `latest` (no manifest, or a manifest that does not match). */
  skipped: string[];
}

function missingManifest(dataKey: string, manifestKey: string): IntegrityError {
  return new IntegrityError(
    `missing manifest: ${dataKey} has no ${manifestKey} beside it, so the backup never completed (or its manifest was deleted) and cannot be checked`,
    'missing-manifest',
  );
}

/** A manifest the catalog rejected because its object's size differs is a damaged object, not a bad manifest. */
function brokenError(key: string, broken: BrokenManifest): IntegrityError {
  const size = broken.size;
  if (size && size.actual < size.expected) {
    return new IntegrityError(
      `truncated: ${key} holds ${size.actual} bytes, its manifest says ${size.expected}`,
      'truncated',
    );
  }
  if (size) {
    return new IntegrityError(
      `corrupted: ${key} holds ${size.actual} bytes, its manifest says ${size.expected}`,
      'size',
    );
  }
  return new IntegrityError(`the manifest of ${key} cannot be used: ${broken.reason}`, 'missing-manifest');
}

/** Finds the backup a selector names, with its manifest; throws IntegrityError or UserError saying why not. */
export async function locateBackup(
  storage: Storage | undefined,
  prefix: string,
  selector: BackupSelector,
): Promise<LocatedBackup> {
  if (selector.kind === 'file') return locateFile(selector.path);
  if (!storage) throw new Error('no storage to locate the backup in');
  if (selector.kind === 'latest') {
    const catalog = await readCatalog(storage, prefix, selector.name);
    let backups = catalog.backups;
    if (!selector.name) {
      const all = [...new Set(backups.map((b) => b.name))].sort();
      // The sets restore writes (<name>-pre-restore) do not make the choice ambiguous.
      const main = all.filter((n) => !n.endsWith('-pre-restore'));
      const names = main.length ? main : all;
      if (names.length > 1) {
        throw new UserError(
          `'name' is required: ${storage.location}/${prefix} holds several backup sets (${names.join(', ')})`,
        );
      }
      backups = backups.filter((b) => b.name === names[0]);
    }
    const newest = backups[0];
    if (!newest) {
      const where = `${storage.location}/${prefix}${selector.name ? `${prefix ? '/' : ''}${selector.name}` : ''}`;
      const incomplete = catalog.incomplete[0];
      if (incomplete) {
        throw missingManifest(incomplete.data.key, manifestKeyFor(prefix, incomplete.name, incomplete.createdAt));
      }
      const broken = catalog.broken[0];
      if (broken) throw brokenError(broken.manifestKey, broken);
      throw new UserError(`no backup found in ${where}: check 'destination' and 'name'`);
    }
    const skipped = [
      ...catalog.incomplete
        .filter((i) => i.name === newest.name && i.createdAt > newest.createdAt)
        .map((i) => `${i.data.key} (missing manifest)`),
      ...catalog.broken
        .filter((b) => b.name === newest.name && b.manifestKey > newest.manifestKey)
        .map((b) => `${b.manifestKey} (${b.reason})`),
    ];
    return fromBackup(storage, newest, skipped);
  }
  const parsed = parseKey(selector.key, prefix);
  if (!parsed) {
    throw new UserError(
      `'backup': '${selector.key}' is not a backup key under '${prefix || '(the root)'}'; give 'latest' or a key like ${prefix ? `${prefix}/` : ''}<name>/YYYY/MM/DD/<name>-YYYYMMDDTHHMMSSZ.sql.gz.gpg`,
    );
  }
  const catalog = await readCatalog(storage, prefix, parsed.name);
  const found = catalog.backups.find((b) => b.manifestKey === selector.key || b.data.key === selector.key);
  if (found) return fromBackup(storage, found, []);
  const manifestKey = manifestKeyFor(prefix, parsed.name, parsed.createdAt);
  const broken = catalog.broken.find((b) => b.manifestKey === manifestKey);
  if (broken) throw brokenError(broken.manifestKey.replace(/\.manifest\.json$/, ''), broken);
  const incomplete = catalog.incomplete.find((i) => i.data.key === selector.key || i.data.key.startsWith(parsed.stem));
  if (incomplete) throw missingManifest(incomplete.data.key, manifestKey);
  throw new UserError(`'backup': ${storage.location}/${selector.key} does not exist`);
}

function fromBackup(storage: Storage, b: Backup, skipped: string[]): LocatedBackup {
  return {
    manifest: b.manifest,
    manifestKey: b.manifestKey,
    dataKey: b.data.key,
    storage,
    label: `${storage.location}/${b.data.key}`,
    skipped,
  };
}

async function locateFile(file: string): Promise<LocatedBackup> {
  const abs = path.resolve(file);
  const base = path.basename(abs);
  const ext = [...DATA_EXTENSIONS].sort((a, b) => b.length - a.length).find((e) => base.endsWith(`.${e}`));
  if (!ext) {
    throw new UserError(`'backup-file': ${file} does not end in a backup extension (${DATA_EXTENSIONS.join(', ')})`);
  }
  const stat = await fs.stat(abs).catch(() => null);
  if (!stat?.isFile()) throw new UserError(`'backup-file': ${file} does not exist`);
  const manifestName = `${base.slice(0, -ext.length - 1)}.manifest.json`;
  const storage = new LocalStorage(path.dirname(abs));
  let text: string;
  try {
    text = await storage.readText(manifestName);
  } catch {
    throw missingManifest(abs, path.join(path.dirname(abs), manifestName));
  }
  const manifest = parseManifest(text);
  if (path.posix.basename(manifest.object.key) !== base) {
    throw new IntegrityError(
      `the manifest beside ${file} describes ${manifest.object.key}, not ${base}`,
      'missing-manifest',
    );
  }
  return { manifest, manifestKey: manifestName, dataKey: base, storage, label: abs, skipped: [] };
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

/** Fails the stream when more bytes arrive than the manifest says, and at the end on any difference. */
class ManifestCheck extends Transform {
  private bytes = 0;
  constructor(
    private readonly hash: HashStage,
    private readonly expected: { size: number; sha256: string },
    private readonly label: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected.size) {
      cb(
        new IntegrityError(
          `corrupted: ${this.label} is longer than the ${this.expected.size} bytes its manifest records`,
          'size',
        ),
      );
    } else cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    cb(integrityProblem(this.label, this.expected, { bytes: this.hash.bytes, sha256: this.hash.sha256 }) ?? null);
  }
}

/** How a read of the object differs from its manifest, or null when it matches. */
export function integrityProblem(
  label: string,
  expected: { size: number; sha256: string },
  actual: { bytes: number; sha256: string },
): IntegrityError | null {
  if (actual.bytes < expected.size) {
    return new IntegrityError(
      `truncated: ${label} holds ${actual.bytes} bytes, its manifest says ${expected.size} (${formatBytes(expected.size - actual.bytes)} missing)`,
      'truncated',
    );
  }
  if (actual.bytes > expected.size) {
    return new IntegrityError(
      `corrupted: ${label} holds ${actual.bytes} bytes, its manifest says ${expected.size}`,
      'size',
    );
  }
  if (actual.sha256 !== expected.sha256) {
    return new IntegrityError(
      `checksum mismatch: ${label} is corrupted (sha256 ${actual.sha256}, its manifest says ${expected.sha256})`,
      'checksum',
    );
  }
  return null;
}

/** Reads the object again to find out whether it is damaged; null when it matches its manifest. */
export async function diagnoseObject(b: LocatedBackup, signal?: AbortSignal): Promise<IntegrityError | null> {
  const head = await b.storage.head(b.dataKey);
  if (!head) return new IntegrityError(`${b.label} has disappeared`, 'truncated');
  if (head.size !== b.manifest.object.size) {
    return integrityProblem(b.label, b.manifest.object, { bytes: head.size, sha256: '' });
  }
  const actual = await hashStored(b.storage, b.dataKey, signal);
  return integrityProblem(b.label, b.manifest.object, actual);
}

/**
 * Streams the backup's plaintext dump into `sink`, checking the object against its manifest. Resolves
 * only when every stage (including the sink's process) ended cleanly; otherwise throws the cause:
 * an IntegrityError (corrupted, truncated, wrong key), CancelledError, or the sink's own error wrapped as
 * IntegrityError kind 'restore' when the object itself is intact.
 */
export async function streamBackup(
  b: LocatedBackup,
  o: {
    sink: Writable;
    gpg?: GpgSession;
    /** From prepareDecryption. */
    gpgPassphrase?: string;
    signal?: AbortSignal;
    log: Logger;
    /** Told the number of stored bytes read so far, after each chunk. */
    onProgress?: (bytes: number) => void;
  },
): Promise<{ bytes: number; sha256: string }> {
  const m = b.manifest;
  const hash = new HashStage(o.onProgress);
  const stages: NodeJS.ReadWriteStream[] = [hash, new ManifestCheck(hash, m.object, b.label)];
  if (m.encryption.scheme !== 'none') {
    if (!o.gpg) throw new Error('a gpg session is needed to decrypt');
    stages.push(o.gpg.decrypt(o.gpgPassphrase));
  }
  if (m.dump.format === 'plain') stages.push(decompressStage(m.dump.compression));
  try {
    const source = await b.storage.read(b.dataKey, { signal: o.signal });
    await pipeline([source, ...stages, o.sink], { signal: o.signal });
    return { bytes: hash.bytes, sha256: hash.sha256 };
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason ?? new CancelledError('cancelled');
    if (err instanceof IntegrityError && err.kind !== 'wrong-key' && err.kind !== 'decrypt') throw err;
    o.log.info(`the restore stream failed (${describeError(err)}); reading ${b.label} again to find out why`);
    let damage: IntegrityError | null;
    try {
      damage = await diagnoseObject(b, o.signal);
    } catch (diagErr) {
      throw new Error(`${describeError(err)} (and reading the object again failed: ${describeError(diagErr)})`, {
        cause: err,
      });
    }
    if (damage) throw new IntegrityError(damage.message, damage.kind, { cause: err });
    if (err instanceof IntegrityError) throw err;
    throw new IntegrityError(
      `the backup object is intact but could not be restored: ${describeError(err)}`,
      'restore',
      {
        cause: err,
      },
    );
  }
}
