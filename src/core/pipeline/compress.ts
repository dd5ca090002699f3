/** Compression stages: gzip (parallel, see ParallelGzip), zstd (Node ≥ 22.15), none. */
import { PassThrough, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { UserError } from '../../util/errors.js';
import type { Compression } from '../layout.js';
import { ParallelGzip } from './parallel-gzip.js';

type ZstdZlib = typeof zlib & {
  createZstdCompress?: (o?: { params?: Record<number, number> }) => Transform;
  createZstdDecompress?: (o?: { chunkSize?: number }) => Transform;
  constants: typeof zlib.constants & { ZSTD_c_compressionLevel?: number };
};
const z = zlib as ZstdZlib;

export const zstdAvailable = typeof z.createZstdCompress === 'function';

export const DEFAULT_LEVEL: Record<Compression, number | null> = { gzip: 6, zstd: 3, none: null };
export const LEVEL_RANGE: Record<Exclude<Compression, 'none'>, [number, number]> = { gzip: [1, 9], zstd: [1, 19] };

export function checkCompressionSupported(c: Compression, input = 'compression'): void {
  if (c === 'zstd' && !zstdAvailable) {
    throw new UserError(`'${input}: zstd' needs Node.js 22.15 or newer (this is ${process.version}); use gzip`);
  }
}

export function compressStage(c: Compression, level: number | null, threads = 2): Transform {
  switch (c) {
    case 'gzip':
      return new ParallelGzip({ level: level ?? 6, threads });
    case 'zstd': {
      checkCompressionSupported(c);
      const key = z.constants.ZSTD_c_compressionLevel ?? 100;
      return z.createZstdCompress?.({ params: { [key]: level ?? 3 } }) as Transform;
    }
    case 'none':
      return new PassThrough();
  }
}

const DECOMPRESS_CHUNK = 64 * 1024;

export function decompressStage(c: Compression): Transform {
  switch (c) {
    case 'gzip':
      // 64 KiB pieces into psql (zlib's default 16 KiB means 64 000 writes per GB; 1 MiB pieces left
      // ~20 MB more resident after the restore, measured).
      return zlib.createGunzip({ chunkSize: DECOMPRESS_CHUNK });
    case 'zstd':
      checkCompressionSupported(c);
      return z.createZstdDecompress?.({ chunkSize: DECOMPRESS_CHUNK }) as Transform;
    case 'none':
      return new PassThrough();
  }
}
