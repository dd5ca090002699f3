/** Every actions/<name>/action.yml, the root action.yml and the actions' README tables are generated from the input schemas. */

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/action.js';

describe('generated files', () => {
  it('match the input schemas in src/commands (run `npm run generate`)', () => {
    expect(() =>
      execFileSync('npm', ['run', '--silent', 'generate', '--', '--check'], { cwd: REPO_ROOT, stdio: 'pipe' }),
    ).not.toThrow();
  });
});
