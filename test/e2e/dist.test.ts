/**
 * dist/ is what the runner executes: it must be exactly what the build makes from src/. Compared with the
 * build this run's global setup made (the one the other end-to-end tests run), so src/ is built once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../harness/action.js';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

describe('dist/', () => {
  const build = inject('dist');
  // With PGDR_DIST_DIR the run tests a given build instead of building src/: nothing fresh to compare.
  it.skipIf(!build.fresh)('is up to date with src/ (run `npm run build` and commit dist/)', () => {
    const committed = path.join(REPO_ROOT, 'dist');
    expect(filesUnder(committed)).toEqual(filesUnder(build.dir));
    const stale = filesUnder(build.dir).filter(
      (f) => !fs.readFileSync(path.join(build.dir, f)).equals(fs.readFileSync(path.join(committed, f))),
    );
    expect(stale, `stale files in dist/: ${stale.join(', ')} — run npm run build`).toEqual([]);
  });
});
