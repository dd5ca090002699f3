/**
 * Reading a backup back, checked against its manifest: shared by verify and restore.
 *
 *   storage → SHA-256 + size check → gpg --decrypt → gunzip / zstd -d → sink (psql, pg_restore, a file)
 *
 * Nothing that comes out of the chain counts until the whole chain has ended cleanly (gpg exit 0 with
 * its MDC check passed, size and SHA-256 equal to the manifest's). When any stage fails first — gpg,
 * gunzip and psql all see a damaged stream before the hash is complete — the object is read again to
 * say why: corrupted, truncated, or intact (then the stage's own error stands: wrong key, a bad dump).
 */
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CancelledError, describeError, IntegrityError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { formatBytes } from '../../util/units.js';
import { decompressStage } from '../pipeline/compress.js';
import type { GpgSession } from '../pipeline/gpg.js';
import { HashStage } from '../pipeline/streams.js';
import { hashStored } from '../storage/index.js';
import type { LocatedBackup } from './locate.js';

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
