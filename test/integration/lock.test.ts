import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { acquireLock, LockHeldError } from '../../src/core/lock.js';
import { LocalStorage } from '../../src/core/storage/local.js';
import { S3Storage } from '../../src/core/storage/s3.js';
import type { Storage } from '../../src/core/storage/types.js';
import type { Logger } from '../../src/util/log.js';
import { s3Endpoint } from '../harness/context.js';
import { createBucket } from '../harness/s3.js';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    debug: () => {},
    group: (_t, fn) => fn(),
  };
}

const backends: Array<[string, () => Promise<Storage>]> = [
  [
    'S3',
    async () =>
      new S3Storage({ bucket: await createBucket(s3Endpoint()), endpoint: s3Endpoint(), forcePathStyle: true }),
  ],
  ['local directory', async () => new LocalStorage(fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-lock-')))],
];

describe.each(backends)('backup lock on %s', (_name, open) => {
  const key = 'backups/db/.lock';

  it('refuses a second holder at once, naming the first', async () => {
    const storage = await open();
    const first = await acquireLock(storage, key, {
      ttlSeconds: 3600,
      waitSeconds: 0,
      log: recordingLogger(),
      pollMs: 20,
    });
    const err = await acquireLock(storage, key, {
      ttlSeconds: 3600,
      waitSeconds: 0,
      log: recordingLogger(),
      pollMs: 20,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as Error).message).toContain(first.info.owner);
    expect((err as Error).message).toContain('another backup of this set is running');
    await first.release();
    expect(await storage.head(key)).toBeNull();
  });

  it('lets a waiting holder in once the first releases', async () => {
    const storage = await open();
    const first = await acquireLock(storage, key, {
      ttlSeconds: 3600,
      waitSeconds: 0,
      log: recordingLogger(),
      pollMs: 20,
    });
    const log = recordingLogger();
    const second = acquireLock(storage, key, { ttlSeconds: 3600, waitSeconds: 30, log, pollMs: 50 });
    await new Promise((r) => setTimeout(r, 300));
    await first.release();
    const held = await second;
    expect(held.info.token).not.toBe(first.info.token);
    expect(log.lines.some((l) => l.includes('waiting for'))).toBe(true);
    await held.release();
  });

  it('takes over a stale lock and says so', async () => {
    const storage = await open();
    await storage.writeText(
      key,
      JSON.stringify({
        owner: 'a killed run',
        token: 'old',
        acquiredAt: '2020-01-01T00:00:00Z',
        expiresAt: '2020-01-01T06:00:00Z',
      }),
    );
    const log = recordingLogger();
    const held = await acquireLock(storage, key, { ttlSeconds: 3600, waitSeconds: 0, log, pollMs: 20 });
    expect(log.lines.find((l) => l.startsWith('warn:'))).toMatch(
      /taking over a stale lock .* held by a killed run since 2020-01-01T00:00:00Z/,
    );
    expect(JSON.parse(await storage.readText(key)).token).toBe(held.info.token);
    await held.release();
  });

  it('lets exactly one of several concurrent contenders in', async () => {
    const storage = await open();
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () =>
        acquireLock(storage, key, { ttlSeconds: 3600, waitSeconds: 0, log: recordingLogger(), pollMs: 100 }),
      ),
    );
    const winners = results.filter((r) => r.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(LockHeldError);
  });
});

describe('backup lock on a server that ignores If-None-Match', () => {
  it('still lets exactly one contender in: each waits, reads the lock back, and only the last writer finds its token', async () => {
    const local = new LocalStorage(fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-lock-lax-')));
    let overwrites = 0;
    // Every call of writeTextIfAbsent "succeeds" and overwrites, like a server without conditional writes.
    const lax: Storage = Object.assign(Object.create(local) as Storage, {
      exclusiveCreate: false,
      async writeTextIfAbsent(key: string, text: string): Promise<boolean> {
        // The contenders' writes land 40 ms apart (network latency), all after each of them looked and
        // found no lock: each must see the later ones before it believes it holds the lock.
        await sleep(40 * overwrites++);
        await local.writeText(key, text);
        return true;
      },
    });
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () =>
        acquireLock(lax, 'db/.lock', { ttlSeconds: 3600, waitSeconds: 0, log: recordingLogger(), pollMs: 250 }),
      ),
    );
    expect(overwrites).toBeGreaterThan(1); // the race did happen
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(LockHeldError);
  });
});
