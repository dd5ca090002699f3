import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LocalStorage } from '../../src/core/storage/local.js';
import type { WriteOptions } from '../../src/core/storage/types.js';

/**
 * A directory whose disk changes one byte of every object after it is written (size unchanged): what a
 * read-back check is there to catch. `at` picks the byte from the object's size (-1: leave it alone).
 */
export class FlippingDisk extends LocalStorage {
  constructor(
    private readonly dir: string,
    private readonly at: (size: number) => number,
    private readonly mask = 0xff,
  ) {
    super(dir);
  }

  override async write(key: string, body: Readable, options?: WriteOptions): Promise<{ size: number }> {
    const r = await super.write(key, body, options);
    const file = path.join(this.dir, key);
    const bytes = fs.readFileSync(file);
    const i = this.at(bytes.length);
    if (i >= 0 && i < bytes.length) {
      bytes[i] = (bytes[i] as number) ^ this.mask;
      fs.writeFileSync(file, bytes);
    }
    return r;
  }
}
