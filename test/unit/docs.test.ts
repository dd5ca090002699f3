/**
 * The docs: every actions/<name>/action.yml, the root action.yml and each actions/<name>/README.md's
 * input/output tables are generated from the input schemas (src/commands); every action has its README
 * with the markers; every relative link in the Markdown files resolves to a file, its #anchor to a heading.
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/action.js';

const ACTIONS = fs
  .readdirSync(path.join(REPO_ROOT, 'actions'))
  .filter((d) => fs.existsSync(path.join(REPO_ROOT, 'actions', d, 'action.yml')));

/** The Markdown users read: the root README, each action's README, docs/. */
function markdownFiles(root: string): string[] {
  const files = ['README.md'];
  for (const d of fs.readdirSync(path.join(root, 'actions'))) {
    if (fs.existsSync(path.join(root, 'actions', d, 'README.md'))) files.push(path.join('actions', d, 'README.md'));
  }
  for (const f of fs.readdirSync(path.join(root, 'docs'))) if (f.endsWith('.md')) files.push(path.join('docs', f));
  return files.filter((f) => fs.existsSync(path.join(root, f)));
}

/** Markdown without fenced code blocks and inline code, where a `[x](y)` is not a link. */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen, repeats numbered. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const withoutCode = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const m of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    // Link syntax goes; backticks and asterisks go with the other punctuation below.
    const heading = (m[1] ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every relative link in `files` (paths under root) whose file or #anchor does not exist. */
function brokenLinks(root: string, files: string[]): string[] {
  const broken: string[] = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    for (const m of prose(text).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1] ?? '';
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [rel = '', anchor] = target.split('#');
      const resolved = rel === '' ? path.join(root, file) : path.resolve(path.dirname(path.join(root, file)), rel);
      if (!fs.existsSync(resolved)) {
        broken.push(`${file}: ${target} (no such file)`);
        continue;
      }
      if (anchor && resolved.endsWith('.md') && !anchors(fs.readFileSync(resolved, 'utf8')).has(anchor)) {
        broken.push(`${file}: ${target} (no such heading)`);
      }
    }
  }
  return broken;
}

describe('generated docs', () => {
  it('the action.yml files and the README tables match the input schemas (run `npm run generate`)', () => {
    expect(() =>
      execFileSync('npm', ['run', '--silent', 'generate', '--', '--check'], { cwd: REPO_ROOT, stdio: 'pipe' }),
    ).not.toThrow();
  });

  it.each(ACTIONS)('actions/%s/README.md exists with its inputs markers, once each', (name) => {
    const text = fs.readFileSync(path.join(REPO_ROOT, 'actions', name, 'README.md'), 'utf8');
    expect(text.split(`<!-- inputs:${name} -->`)).toHaveLength(2);
    expect(text.split(`<!-- /inputs:${name} -->`)).toHaveLength(2);
    expect(text.indexOf(`<!-- inputs:${name} -->`)).toBeLessThan(text.indexOf(`<!-- /inputs:${name} -->`));
  });

  it('the root README links every action page', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    for (const name of ACTIONS) expect(readme).toContain(`](actions/${name}/README.md)`);
  });
});

describe('links in the docs', () => {
  it('every relative link resolves to a file, and its #anchor to a heading', () => {
    const files = markdownFiles(REPO_ROOT);
    expect(files).toContain('docs/runbook.md');
    expect(brokenLinks(REPO_ROOT, files)).toEqual([]);
  });

  it('the check finds a missing file and a missing heading, and ignores links in code', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-docs-'));
    try {
      fs.mkdirSync(path.join(root, 'docs'));
      fs.mkdirSync(path.join(root, 'actions'));
      fs.writeFileSync(
        path.join(root, 'docs', 'a.md'),
        '# A page\n\n## The CLI: `pgdr`\n\n### Read-only, and a pg_dump that fits\n\n## The CLI: `pgdr`\n',
      );
      fs.writeFileSync(
        path.join(root, 'README.md'),
        [
          '[ok](docs/a.md#the-cli-pgdr) [ok](docs/a.md#the-cli-pgdr-1) [ok](docs/a.md#read-only-and-a-pg_dump-that-fits)',
          '[ok](#title) [web](https://example.com/x.md#nowhere)',
          '[gone](docs/b.md) [no heading](docs/a.md#the-cli)',
          '`[in code](docs/c.md)`',
          '```md\n[in a block](docs/d.md)\n```',
          '# Title',
        ].join('\n\n'),
      );
      expect(brokenLinks(root, markdownFiles(root))).toEqual([
        'README.md: docs/b.md (no such file)',
        'README.md: docs/a.md#the-cli (no such heading)',
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
