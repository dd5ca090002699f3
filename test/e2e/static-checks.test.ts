/**
 * The checks `npm run all` runs besides the tests, so CI (which runs `npm test`) fails on them too: the
 * typecheck of everything, tests included (vitest itself strips types unchecked), and the linter.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/action.js';

function run(bin: string, args: string[]): string {
  try {
    execFileSync(path.join(REPO_ROOT, 'node_modules/.bin', bin), args, { cwd: REPO_ROOT, stdio: 'pipe' });
    return '';
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    return `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim() || String(err);
  }
}

describe('static checks', () => {
  it('typecheck: tsc -p tsconfig.check.json', () => {
    expect(run('tsc', ['--noEmit', '-p', 'tsconfig.check.json'])).toBe('');
  });
  it('lint: biome check', () => {
    expect(run('biome', ['check', '--diagnostic-level=error', '.'])).toBe('');
  });
});
