import { describe, expect, it } from 'vitest';
import { MAX_PARTS, MIN_PART_SIZE, partSizeFor } from '../../src/core/storage/s3.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('multipart part size', () => {
  it.each([
    [undefined, 5 * MiB],
    [0, 5 * MiB],
    [1 * GiB, 5 * MiB],
    [24 * GiB, 5 * MiB],
    [25 * GiB, 6 * MiB],
    [100 * GiB, 21 * MiB],
    [1024 * GiB, 210 * MiB],
  ])('expected %d bytes → %d-byte parts', (expected, part) => {
    expect(partSizeFor(expected)).toBe(part);
  });

  it.each([1, 7 * GiB, 25 * GiB + 12345, 333 * GiB, 5000 * GiB])(
    'twice an expected size of %d bytes fits in 10 000 parts, in whole MiB, never below 5 MiB',
    (expected) => {
      const part = partSizeFor(expected);
      expect(part * MAX_PARTS).toBeGreaterThanOrEqual(expected * 2);
      expect(part % MiB).toBe(0);
      expect(part).toBeGreaterThanOrEqual(MIN_PART_SIZE);
    },
  );
});
