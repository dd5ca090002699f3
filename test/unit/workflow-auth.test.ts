/**
 * The bundled workflows hand every job the key that authenticates what it reads or writes (docs/security.md):
 * a step that reads the catalog (verify, restore, prune, monitor, notify with a destination) gets
 * `encryption-passphrase` or `signing-public-key`; a backup step in public-key mode gets `signing-key`.
 * Without them prune and monitor refuse to run and verify/restore find no authenticated backup.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REPO_ROOT } from '../harness/action.js';

const WORKFLOW_DIR = path.join(REPO_ROOT, '.github/workflows');

interface Step {
  uses?: string;
  name?: string;
  with?: Record<string, unknown>;
}

/** Which of our commands a step runs: ./actions/x, postgres-dr/postgres-dr/actions/x@ref, or the root action's `command`. */
function commandOf(step: Step): string | null {
  const uses = step.uses ?? '';
  const sub = /^(?:\.\/(?:\.postgres-dr\/)?actions\/|postgres-dr\/postgres-dr\/actions\/)([a-z]+)(?:@|\/?$)/.exec(uses);
  if (sub) return sub[1] as string;
  if (uses === './' || uses === '.' || /^postgres-dr\/postgres-dr@/.test(uses)) return String(step.with?.command ?? '');
  return null;
}

const steps: Array<[string, string, Record<string, unknown>]> = [];
for (const file of fs.readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f))) {
  const wf = YAML.parse(fs.readFileSync(path.join(WORKFLOW_DIR, file), 'utf8')) as {
    jobs: Record<string, { steps?: Step[] }>;
  };
  for (const [job, j] of Object.entries(wf.jobs)) {
    for (const step of j.steps ?? []) {
      const command = commandOf(step);
      if (command) steps.push([`${file} › ${job} › ${step.name ?? step.uses}`, command, step.with ?? {}]);
    }
  }
}

const readsCatalog = (command: string, w: Record<string, unknown>): boolean =>
  ['verify', 'restore', 'prune', 'monitor'].includes(command) || (command === 'notify' && 'destination' in w);

describe('workflow keys', () => {
  const readers = steps.filter(([, command, w]) => readsCatalog(command, w));

  it('the workflows have steps that read the catalog, of every kind', () => {
    expect(new Set(readers.map(([, c]) => c))).toEqual(new Set(['verify', 'restore', 'prune', 'monitor', 'notify']));
  });

  it.each(readers)('%s (%s) gets a key that authenticates manifests', (_where, _command, w) => {
    expect('encryption-passphrase' in w || 'signing-public-key' in w).toBe(true);
  });

  it.each(
    steps.filter(([, command, w]) => command === 'backup' || (command === 'restore' && 'encryption-public-key' in w)),
  )('%s (%s) in public-key mode gets a signing key', (_where, _command, w) => {
    if ('encryption-public-key' in w) expect(w).toHaveProperty('signing-key');
    else expect(w).toHaveProperty('encryption-passphrase');
  });

  it('the reusable workflows declare the signing secrets they pass', () => {
    for (const file of ['backup.yml', 'dr-drill.yml', 'restore-test.yml']) {
      const text = fs.readFileSync(path.join(WORKFLOW_DIR, file), 'utf8');
      const declared = Object.keys(
        (YAML.parse(text) as { on: { workflow_call?: { secrets?: Record<string, unknown> } } }).on.workflow_call
          ?.secrets ?? {},
      );
      const used = [...new Set([...text.matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1] as string))];
      expect(used.filter((s) => !declared.includes(s))).toEqual([]);
    }
  });
});
