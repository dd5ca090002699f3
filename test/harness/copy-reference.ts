/**
 * pgdr-copy-xxh64-sum-v1 recomputed independently of the scanner: a table's rows as psql's own
 * `COPY … TO STDOUT` prints them (canonical settings, UTF8), each row's XXH64 summed mod 2^64.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import { rowHasher } from '../../src/core/pipeline/copy-scan.js';
import { clientBin, pg } from './context.js';

const CANONICAL =
  '-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex';

export async function referenceChecksum(
  db: string,
  t: { schema: string; name: string; columns?: string },
): Promise<string> {
  const q = (s: string): string => `"${s.replaceAll('"', '""')}"`;
  const { host, port } = pg();
  const out = execFileSync(
    clientBin('psql'),
    [
      '-X',
      '-h',
      host,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      db,
      '-c',
      `COPY ${q(t.schema)}.${q(t.name)}${t.columns ? ` (${t.columns})` : ''} TO STDOUT`,
    ],
    { env: { ...process.env, PGOPTIONS: CANONICAL, PGCLIENTENCODING: 'UTF8' }, maxBuffer: 256 * 1024 * 1024 },
  );
  const xx = await rowHasher();
  let sum = 0n;
  let start = 0;
  for (let nl = out.indexOf(10); nl !== -1; nl = out.indexOf(10, start)) {
    sum = (sum + xx.h64Raw(out.subarray(start, nl))) & ((1n << 64n) - 1n);
    start = nl + 1;
  }
  expect(start).toBe(out.length);
  return sum.toString(16).padStart(16, '0');
}
