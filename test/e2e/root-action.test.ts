/** The root action runs any action by `command`, and says when it is given inputs that command does not take. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAction } from '../harness/action.js';
import { TEST_AUTH_PASSPHRASE } from '../harness/synthetic-backups.js';

describe('root action', () => {
  it('runs the command, and warns about inputs meant for another action (not silently ignored)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-root-'));
    try {
      const run = await runAction('root', {
        command: 'prune',
        destination: dir,
        name: 'db',
        'encryption-passphrase': TEST_AUTH_PASSPHRASE,
        'keep-daily': '3',
        compression: 'zstd',
        'max-restore-time': '2h',
      });
      expect(run.errors).toEqual([]);
      expect(run.status).toBe(0);
      expect(run.outputs.kept).toBe('0');
      const warning = run.warnings.find((w) => w.includes('does not take'));
      expect(warning).toBe(
        "'prune' does not take 'compression', 'max-restore-time': remove them from 'with:' or check 'command'",
      );
      // Inputs prune does take are not named.
      expect(warning).not.toMatch(/keep-daily|destination|encryption-passphrase/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown command, naming the ones there are', async () => {
    const run = await runAction('root', { command: 'backpu' });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toContain("'command' must be one of backup, verify, restore, prune, monitor, notify");
  });
});
