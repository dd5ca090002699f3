/**
 * The layers of src/, read off the import statements (static and dynamic `import()`, type-only included):
 * no import circle; the core imports nothing from commands/ or hosts/ and no @actions/*; no core use case
 * imports another (shared steps are modules of their own, in core/backups/ and below); no command
 * imports another command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** The core's use cases: one per command (the commands call them; nothing else in core/ does). */
const USE_CASES = ['backup', 'verify', 'restore', 'prune', 'monitor', 'notify', 'keygen', 'keys', 'synth', 'list'].map(
  (n) => `core/${n}.ts`,
);
/** One module per command; the other modules of commands/ (inputs, the Command type, …) are shared. */
const COMMANDS = ['backup', 'verify', 'restore', 'prune', 'monitor', 'notify', 'keygen', 'keys', 'synth', 'list'].map(
  (n) => `commands/${n}.ts`,
);
/** Top-level core modules that are not use cases: what the use cases share. */
const CORE_SHARED = [
  'catalog',
  'layout',
  'lock',
  'manifest',
  'manifest-auth',
  'report',
  'retention',
  'version',
  'webhook',
].map((n) => `core/${n}.ts`);

const IMPORT = /(?:\bimport|\bexport)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Specifiers imported by a module's text (comments stripped, so examples in them do not count). */
function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...code.matchAll(IMPORT)].map((m) => (m[1] ?? m[2]) as string);
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(SRC, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

/** Module (relative to src/) → what it imports: other modules of src/ by path, packages by name. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = fs.readFileSync(path.join(SRC, file), 'utf8');
    graph.set(
      file,
      importsOf(text).map((spec) =>
        spec.startsWith('.') ? path.posix.join(path.posix.dirname(file), spec).replace(/\.js$/, '.ts') : spec,
      ),
    );
  }
  return graph;
}

/** Every import circle, each as the path that closes it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const out: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (!graph.has(m)) continue;
      if (state.get(m) === 'open') out.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return out;
}

const graph = importGraph();
const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));

describe('the import graph of src/', () => {
  it('is read from the sources (the parser sees static, type-only and dynamic imports)', () => {
    expect(
      importsOf(`import a from './a.js';\nimport type { B } from "../b.js";\nexport { c } from './c.js';`),
    ).toEqual(['./a.js', '../b.js', './c.js']);
    expect(importsOf(`const m = await import('./lazy.js'); // import('./not-this.js')`)).toEqual(['./lazy.js']);
    expect(importsOf(`import {\n  x,\n  type Y,\n} from '../x.js';`)).toEqual(['../x.js']);
    // The graph is not empty and holds a known dynamic import (the AWS SDK stays behind it).
    expect(graph.get('core/storage/lazy-s3.ts')).toContain('core/storage/s3.ts');
    for (const u of [...USE_CASES, ...CORE_SHARED]) expect(graph.has(u), u).toBe(true);
  });

  it('finds a circle when there is one', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(cycles(g)).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('has no import circle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('keeps the core free of commands/, hosts/ and @actions/*', () => {
    const bad = edges.filter((e) => e.from.startsWith('core/') && /^(commands|hosts)\/|^@actions\//.test(e.to));
    expect(bad).toEqual([]);
  });

  it('has no core use case importing another use case', () => {
    const bad = edges.filter((e) => USE_CASES.includes(e.from) && USE_CASES.includes(e.to));
    expect(bad).toEqual([]);
    // Nothing below the use cases reaches up to one either.
    const up = edges.filter(
      (e) => e.from.startsWith('core/') && !USE_CASES.includes(e.from) && USE_CASES.includes(e.to),
    );
    expect(up).toEqual([]);
  });

  it('knows every top-level core module as a use case or a shared module', () => {
    const top = [...graph.keys()].filter((f) => /^core\/[^/]+\.ts$/.test(f));
    expect(top.filter((f) => !USE_CASES.includes(f) && !CORE_SHARED.includes(f))).toEqual([]);
  });

  it('has no command importing another command', () => {
    const isCommand = (f: string): boolean => COMMANDS.includes(f);
    for (const c of COMMANDS) expect(graph.has(c), c).toBe(true);
    expect(edges.filter((e) => isCommand(e.from) && isCommand(e.to))).toEqual([]);
  });
});
