/**
 * One backup of a set at a time: a lock object `<prefix>/<name>/.lock` holding its owner and an expiry.
 * Created with a conditional write (If-None-Match: * on S3, O_EXCL locally) and read back, because some
 * S3-compatible servers ignore the condition. A lock past its expiry (a run that was killed) is taken
 * over, and the log says so.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { formatDuration } from '../util/units.js';
import type { Storage } from './storage/index.js';

export interface LockInfo {
  owner: string;
  token: string;
  acquiredAt: string;
  expiresAt: string;
}

export interface LockOptions {
  /** How long the lock is valid: longer than any backup can take. */
  ttlSeconds: number;
  /** How long to wait for another holder before giving up (0: refuse at once). */
  waitSeconds: number;
  log: Logger;
  now?: () => Date;
  signal?: AbortSignal;
  /** Pause between attempts while waiting, and before the read-back. */
  pollMs?: number;
}

export class LockHeldError extends Error {
  override name = 'LockHeldError';
}

export interface HeldLock {
  info: LockInfo;
  release(): Promise<void>;
}

export function describeOwner(): string {
  const run = process.env.GITHUB_RUN_ID
    ? `${process.env.GITHUB_REPOSITORY ?? '?'} run ${process.env.GITHUB_RUN_ID}${process.env.GITHUB_RUN_ATTEMPT ? `.${process.env.GITHUB_RUN_ATTEMPT}` : ''}`
    : undefined;
  return `${run ? `${run} on ` : ''}${os.hostname()} pid ${process.pid}`;
}

function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.token === 'string' && typeof v.expiresAt === 'string' && !Number.isNaN(Date.parse(v.expiresAt))) {
      return {
        owner: String(v.owner ?? '?'),
        token: v.token,
        acquiredAt: String(v.acquiredAt ?? '?'),
        expiresAt: v.expiresAt,
      };
    }
  } catch {
    // unreadable: treated as expired below
  }
  return null;
}

export async function acquireLock(storage: Storage, key: string, o: LockOptions): Promise<HeldLock> {
  const now = o.now ?? (() => new Date());
  const pollMs = o.pollMs ?? 5000;
  const deadline = Date.now() + o.waitSeconds * 1000;
  let announcedWait = false;
  let churn = 0; // attempts that found the lock changing under us, not waits
  for (;;) {
    if (o.signal?.aborted) throw o.signal.reason;
    if (churn > 50) throw new Error(`could not take the lock ${key}: it keeps changing or cannot be read`);
    const t = now();
    const info: LockInfo = {
      owner: describeOwner(),
      token: randomUUID(),
      acquiredAt: t.toISOString(),
      expiresAt: new Date(t.getTime() + o.ttlSeconds * 1000).toISOString(),
    };
    // Look first: a server that ignores If-None-Match would let us overwrite a live lock.
    const existing = await storage.readText(key).catch(() => null);
    if (existing === null && (await storage.writeTextIfAbsent(key, `${JSON.stringify(info, null, 2)}\n`))) {
      // Read back: a server that ignored If-None-Match lets the last writer win; only one sees its token.
      if (!storage.exclusiveCreate) await sleep(Math.min(pollMs, 250));
      const back = parseLock(await storage.readText(key).catch(() => ''));
      if (back?.token === info.token) {
        o.log.info(`lock ${key} acquired (expires ${info.expiresAt})`);
        return {
          info,
          async release() {
            try {
              const current = parseLock(await storage.readText(key));
              if (current?.token === info.token) await storage.delete([key]);
            } catch (err) {
              o.log.warn(`could not release the lock ${key}: ${describeError(err)}; it expires at ${info.expiresAt}`);
            }
          },
        };
      }
    }
    const text = existing ?? (await storage.readText(key).catch(() => null));
    if (text === null) {
      churn++; // released meanwhile: try again
      continue;
    }
    const held = parseLock(text);
    if (!held || Date.parse(held.expiresAt) <= now().getTime()) {
      o.log.warn(
        held
          ? `taking over a stale lock ${key}: held by ${held.owner} since ${held.acquiredAt}, expired at ${held.expiresAt}`
          : `taking over an unreadable lock ${key}`,
      );
      await storage.delete([key]).catch(() => {});
      churn++;
      continue;
    }
    if (Date.now() >= deadline) {
      throw new LockHeldError(
        `another backup of this set is running: ${key} is held by ${held.owner} since ${held.acquiredAt} (expires ${held.expiresAt})` +
          (o.waitSeconds > 0 ? `; waited ${formatDuration(o.waitSeconds)}` : '') +
          `. If that run is dead, delete ${key} or wait until it expires; 'lock-wait' makes a backup wait for the other to finish`,
      );
    }
    if (!announcedWait) {
      o.log.info(`waiting for ${held.owner} to release ${key} (up to ${formatDuration(o.waitSeconds)})`);
      announcedWait = true;
    }
    await sleep(pollMs, undefined, { signal: o.signal });
  }
}
