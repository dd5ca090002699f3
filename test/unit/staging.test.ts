/** The free-space check before a parallel pg_restore stages the decrypted archive. */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { freeBytes, planStaging, STAGING_MARGIN_BYTES } from '../../src/core/backups/staging.js';
import { UserError } from '../../src/util/errors.js';

const GB = 2 ** 30;
const manifest = (format: 'plain' | 'custom', dumpSize: number) =>
  ({ dump: { format, dumpSize } }) as unknown as Parameters<typeof planStaging>[0];
const free = (bytes: number) => async () => bytes;

describe('planStaging', () => {
  it.each([
    ['plain, jobs 4', 'plain', 4],
    ['custom, jobs 1', 'custom', 1],
  ] as const)('%s streams: no temporary file, no check', async (_, format, jobs) => {
    const never = async (): Promise<number> => {
      throw new Error('statfs must not be called');
    };
    expect(await planStaging(manifest(format, 10 * GB), jobs, '/nowhere', never)).toBeNull();
  });

  it('custom with jobs 2: the archive size and the free space, when it fits', async () => {
    const plan = await planStaging(manifest('custom', 3 * GB), 2, '/runner/temp', free(3 * GB + STAGING_MARGIN_BYTES));
    expect(plan).toEqual({ dir: '/runner/temp', bytes: 3 * GB, freeBytes: 3 * GB + STAGING_MARGIN_BYTES });
  });

  it('refuses, naming jobs, the temp dir and both sizes, when the archive and the margin do not fit', async () => {
    const err = await planStaging(manifest('custom', 3 * GB), 2, '/runner/temp', free(3 * GB)).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain("'jobs: 2'");
    expect(err.message).toContain('/runner/temp');
    expect(err.message).toContain('3.0 GiB free');
    expect(err.message).toContain("'jobs: 1'");
  });

  it('refuses, naming jobs and the temp dir, when the temp dir cannot be examined', async () => {
    const missing = `${os.tmpdir()}/pgdr-no-such-dir-${process.pid}`;
    const err = await planStaging(manifest('custom', 1), 3, missing).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain("'jobs: 3'");
    expect(err.message).toContain(missing);
  });

  it('freeBytes reads the real file system', async () => {
    expect(await freeBytes(os.tmpdir())).toBeGreaterThan(0);
  });
});
