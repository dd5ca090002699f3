/**
 * The backup's compression stages: the output is one file that the stock tools (`gunzip`, `zstd -d`) and
 * this tool's own decompression stage decode to exactly the input, however it is cut; zstd is one frame
 * (Node's decompressor reads only a file's first frame) with a content checksum that `zstd -d` checks.
 * And the memory governor's collection rule.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { compressStage, decompressStage } from '../../src/core/pipeline/compress.js';
import { collectIfGrown } from '../../src/util/memory.js';

/** ~3.3 MiB of dump-like text, different in every line (so blocks differ and order matters). */
function sample(lines = 40_000): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < lines; i++) parts.push(`${i}\tCustomer ${i}\tc${i}@example.com\t${(i * 7919) % 100003}\n`);
  return Buffer.from(parts.join(''));
}

async function run(stage: NodeJS.ReadWriteStream, input: Buffer, piece = 100_000): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces: Buffer[] = [];
  for (let i = 0; i < input.length; i += piece) pieces.push(input.subarray(i, i + piece));
  await pipeline(
    Readable.from(pieces),
    stage,
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

const tool = (cmd: string, args: string[], input: Buffer) =>
  execFileSync(cmd, args, { input, maxBuffer: 64 * 1024 * 1024 });

describe.each([
  { compression: 'zstd' as const, decode: ['zstd', ['-d', '-c', '-q']] as const },
  { compression: 'gzip' as const, decode: ['gunzip', ['-c']] as const },
])('compressStage($compression)', ({ compression, decode }) => {
  it.each([
    { piece: 1000, threads: 1 },
    { piece: 100_000, threads: 2 },
    { piece: 1024 * 1024, threads: 3 },
  ])('decodes to the input with the stock tool and decompressStage (pieces of $piece, $threads threads)', async (o) => {
    const input = sample();
    const packed = await run(compressStage(compression, 3, o.threads), input, o.piece);
    expect(packed.length).toBeLessThan(input.length / 2);
    expect(tool(decode[0], [...decode[1]], packed).equals(input)).toBe(true);
    expect((await run(decompressStage(compression), packed, 65_536)).equals(input)).toBe(true);
  });

  it('turns an empty input into a valid, empty file', async () => {
    const packed = await run(compressStage(compression, null), Buffer.alloc(0));
    expect(packed.length).toBeGreaterThan(0);
    expect(tool(decode[0], [...decode[1]], packed).length).toBe(0);
  });
});

describe('zstd', () => {
  it('writes one frame with a content checksum that zstd -d checks', async () => {
    const input = sample();
    const packed = await run(compressStage('zstd', 3), input);
    // `zstd -l` reads files only.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-zst-'));
    let list: string;
    try {
      fs.writeFileSync(path.join(dir, 'x.zst'), packed);
      list = execFileSync('zstd', ['-l', '-v', path.join(dir, 'x.zst')], { encoding: 'utf8' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(list).toMatch(/# Zstandard Frames: 1\b/);
    expect(list).toMatch(/Check: XXH64/);
    // A flipped bit in the checksum (the frame's last 4 bytes): the content decodes, the check fails.
    const bad = Buffer.from(packed);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    const r = spawnSync('zstd', ['-d', '-c', '-q'], { input: bad, maxBuffer: 64 * 1024 * 1024 });
    expect(r.status).not.toBe(0);
    expect(r.stderr.toString()).toMatch(/checksum/i);
  });
});

describe('collectIfGrown', () => {
  const MiB = 1024 * 1024;
  /** A fake heap: `levels` are what each measurement returns, in turn; records the collections. */
  function fake(levels: number[]) {
    const calls: string[] = [];
    let i = 0;
    const measure = () => (levels[Math.min(i++, levels.length - 1)] as number) * MiB;
    const gc = (o?: { type?: 'minor' | 'major' }) => {
      calls.push(o?.type ?? 'major');
    };
    return { calls, measure, gc };
  }

  it.each([
    { case: 'below the step: no collection, base kept', levels: [105], base: 100, calls: [], next: 100 },
    { case: 'below the base: the base follows it down', levels: [90], base: 100, calls: [], next: 90 },
    { case: 'a young collection frees enough', levels: [110, 101], base: 100, calls: ['minor'], next: 101 },
    { case: 'then a full one', levels: [110, 109, 102], base: 100, calls: ['minor', 'major'], next: 102 },
    { case: 'live memory becomes the base', levels: [130, 129, 125], base: 100, calls: ['minor', 'major'], next: 125 },
  ])('$case', ({ levels, base, calls, next }) => {
    const f = fake(levels);
    expect(collectIfGrown(f.gc, base * MiB, f.measure, 8 * MiB)).toBe(next * MiB);
    expect(f.calls).toEqual(calls);
  });
});
