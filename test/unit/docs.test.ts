/** The root action.yml and the README input/output tables are generated from actions/<name>/action.yml. */

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/action.js';

describe('generated docs', () => {
  it('action.yml and the README tables match actions/*/action.yml (run `npm run docs`)', () => {
    expect(() =>
      execFileSync(process.execPath, ['scripts/gen-docs.mjs', '--check'], { cwd: REPO_ROOT, stdio: 'pipe' }),
    ).not.toThrow();
  });
});
