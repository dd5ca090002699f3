import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { LocalStorage } from '../../src/core/storage/local.js';
import type { WriteOptions, WriteResult } from '../../src/core/storage/types.js';

/**
 * A directory whose disk changes one byte of every object on its way in (size unchanged): what a
 * read-back check is there to catch. The byte at offset `at` is XORed with `mask` between the caller's
 * stream and the file, so the file never holds what was sent — whether the storage reads it back behind
 * the writer (LocalStorage with `readBack`) or the caller reads it afterwards.
 */
export class FlippingDisk extends LocalStorage {
  constructor(
    dir: string,
    private readonly at: number,
    private readonly mask = 0xff,
  ) {
    super(dir);
  }

  override async write(key: string, body: Readable, options?: WriteOptions): Promise<WriteResult> {
    let offset = 0;
    const { at, mask } = this;
    const flip = new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        if (at >= offset && at < offset + chunk.length) {
          const copy = Buffer.from(chunk);
          copy[at - offset] = (copy[at - offset] as number) ^ mask;
          chunk = copy;
        }
        offset += chunk.length;
        cb(null, chunk);
      },
    });
    body.on('error', (err) => flip.destroy(err));
    return super.write(key, body.pipe(flip), options);
  }
}
