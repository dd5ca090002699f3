/** DisposerStack: clean-ups run last first, all of them, once; the body's error wins over a clean-up's. */
import { describe, expect, it } from 'vitest';
import { DisposerStack } from '../../src/util/disposer.js';

describe('DisposerStack', () => {
  it('runs every clean-up once, last registered first, after the body', async () => {
    const log: string[] = [];
    const r = await DisposerStack.run(async (stack) => {
      stack.use('session', (v) => {
        log.push(`close ${v}`);
      });
      stack.defer(async () => {
        log.push('release lock');
      });
      log.push('body');
      return 42;
    });
    expect(r).toBe(42);
    expect(log).toEqual(['body', 'release lock', 'close session']);
  });

  it('keeps the body error and still runs the other clean-ups when one fails', async () => {
    const log: string[] = [];
    const run = DisposerStack.run(async (stack) => {
      stack.defer(() => {
        log.push('first');
      });
      stack.defer(() => {
        throw new Error('clean-up broke');
      });
      throw new Error('dump failed');
    });
    await expect(run).rejects.toThrow('dump failed');
    expect(log).toEqual(['first']);
  });

  it('fails a successful body when a clean-up fails, after running the rest', async () => {
    const log: string[] = [];
    const run = DisposerStack.run(async (stack) => {
      stack.defer(() => {
        log.push('first');
      });
      stack.defer(() => {
        throw new Error('gpg home not removed');
      });
      return 'done';
    });
    await expect(run).rejects.toThrow('gpg home not removed');
    expect(log).toEqual(['first']);
  });
});
