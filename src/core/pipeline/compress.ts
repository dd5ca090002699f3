/** Compression stages: gzip (parallel, see ParallelGzip), zstd (Node ≥ 22.15), none. */
import { PassThrough, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { UserError } from '../../util/errors.js';
import type { Compression } from '../layout.js';
import { ParallelGzip } from './parallel-gzip.js';

type ZstdZlib = typeof zlib & {
  createZstdCompress?: (o?: { params?: Record<number, number>; chunkSize?: number }) => Transform;
  createZstdDecompress?: (o?: { chunkSize?: number }) => Transform;
  constants: typeof zlib.constants & {
    ZSTD_c_compressionLevel?: number;
    ZSTD_c_checksumFlag?: number;
  };
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
    case 'zstd':
      checkCompressionSupported(c);
      return zstdCompressor(level ?? 3);
    case 'none':
      return new PassThrough();
  }
}

/**
 * zstd as ONE frame on one thread-pool thread. Not block-parallel frames as for gzip: Node's zstd
 * decompressor (this tool's restore, in this and older versions) stops after a file's first frame, so a
 * multi-frame backup would restore truncated. Not libzstd's own threads (ZSTD_c_nbWorkers): Node 24's
 * zstd stream fails with them ("stream.push() after EOF", measured). The frame carries a content
 * checksum, as the `zstd` command line writes by default. Output comes in 256 KiB pieces: zlib's default
 * 16 KiB meant a main-thread callback and a downstream write per 16 KiB.
 */
function zstdCompressor(level: number): Transform {
  const k = z.constants;
  const params = { [k.ZSTD_c_compressionLevel ?? 100]: level, [k.ZSTD_c_checksumFlag ?? 201]: 1 };
  return z.createZstdCompress?.({ params, chunkSize: 256 * 1024 }) as Transform;
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
