/** dist/ is what the runner executes: it must be exactly what the build makes from src/. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/action.js';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

describe('dist/', () => {
  it('is up to date with src/ (run `npm run build` and commit dist/)', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-dist-check-'));
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build.mjs'), out], { cwd: REPO_ROOT, stdio: 'pipe' });
    const committed = path.join(REPO_ROOT, 'dist');
    expect(filesUnder(committed)).toEqual(filesUnder(out));
    const stale = filesUnder(out).filter(
      (f) => !fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(committed, f))),
    );
    expect(stale, `stale files in dist/: ${stale.join(', ')} — run npm run build`).toEqual([]);
    fs.rmSync(out, { recursive: true, force: true });
  });
});
