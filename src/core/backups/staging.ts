/**
 * The disk a parallel restore needs: pg_restore -j reads a custom archive by seeking, so with `jobs` > 1
 * the decrypted archive (the manifest's dump.dumpSize) is written to a temporary file first. Checked
 * before anything is restored: the temp dir must hold the archive plus a margin, or the run stops naming
 * `jobs` and the directory.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import { UserError } from '../../util/errors.js';
import { formatBytes } from '../../util/units.js';
import type { Manifest } from '../manifest.js';

/** Left free beside the archive, for the runner, logs and the server's own temp files on the same disk. */
export const STAGING_MARGIN_BYTES = 256 * 2 ** 20;

export interface StagingPlan {
  /** The directory the archive is staged in (a private subdirectory is made there). */
  dir: string;
  /** Bytes the staged archive takes. */
  bytes: number;
  /** Free bytes in `dir` when checked. */
  freeBytes: number;
}

/** Free bytes for an unprivileged process in the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * null when the backup streams straight into psql / pg_restore (a plain dump, or jobs: 1). Otherwise the
 * staging plan, after checking that `tempDir` has room for the archive and STAGING_MARGIN_BYTES.
 */
export async function planStaging(
  m: Pick<Manifest, 'dump'>,
  jobs: number,
  tempDir: string = os.tmpdir(),
  free: (dir: string) => Promise<number> = freeBytes,
): Promise<StagingPlan | null> {
  if (m.dump.format !== 'custom' || jobs <= 1) return null;
  let avail: number;
  try {
    avail = await free(tempDir);
  } catch (err) {
    throw new UserError(
      `'jobs: ${jobs}' stages the decrypted archive in the temp dir ${tempDir} (RUNNER_TEMP, else the system temp dir), which cannot be used: ${(err as Error).message}. Set 'jobs: 1' to stream without a temporary file.`,
      { cause: err },
    );
  }
  const bytes = m.dump.dumpSize;
  if (avail < bytes + STAGING_MARGIN_BYTES) {
    throw new UserError(
      `'jobs: ${jobs}' stages the decrypted archive (${formatBytes(bytes)}) in the temp dir ${tempDir}, which has ${formatBytes(avail)} free; it needs ${formatBytes(bytes + STAGING_MARGIN_BYTES)} (the archive and ${formatBytes(STAGING_MARGIN_BYTES)} to spare). Free space there, point RUNNER_TEMP at a larger disk, or set 'jobs: 1' to stream without a temporary file (pg_restore then runs one job). Nothing was restored.`,
    );
  }
  return { dir: tempDir, bytes, freeBytes: avail };
}
