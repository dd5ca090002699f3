/**
 * The workflows and the README's caller snippets, resolved as GitHub's runner resolves them (read from
 * actions/runner: JobExtension evaluates the job `env:` into the job's environment dictionary; a
 * GITHUB_ENV write (FileCommandManager.SetEnvironmentVariable) overwrites entries of that same
 * dictionary; StepsRunner lays the step's evaluated `env:` on top — and an expression that evaluates to
 * '' still sets the variable). So: job env < GITHUB_ENV of earlier steps < step env.
 *
 * - every storage step's effective AWS credentials are non-empty on the keys path (secrets, no role) and
 *   on the OIDC path (a role, no key secrets: configure-aws-credentials exports the role's keys);
 * - every `uses:` of this project's actions runs the code of the workflow's own commit;
 * - each call of a reusable workflow grants the permissions its jobs ask for, and passes only inputs and
 *   secrets the callee declares (and every required one).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REPO_ROOT } from '../harness/action.js';
import { type Contexts, evaluateCondition, evaluateTemplate, stringOf, type Value } from '../harness/gh-expressions.js';

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string | boolean;
  env?: Record<string, unknown>;
  with?: Record<string, unknown>;
}
interface Job {
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | 'inherit';
  permissions?: Record<string, string> | string;
  env?: Record<string, unknown>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown> & {
    workflow_call?: {
      inputs?: Record<string, { required?: boolean; default?: unknown }>;
      secrets?: Record<string, { required?: boolean }>;
    };
  };
  env?: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
}

const WORKFLOW_DIR = path.join(REPO_ROOT, '.github/workflows');
const files = fs.readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f));
const texts = new Map(files.map((f) => [f, fs.readFileSync(path.join(WORKFLOW_DIR, f), 'utf8')]));
const workflows = new Map(files.map((f) => [f, YAML.parse(texts.get(f) as string) as Workflow]));

/** The README's yaml blocks that call a reusable workflow (list items' blocks dedented). */
const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const snippets: Array<[string, Workflow]> = [...readme.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```/gm)]
  .map((m) => {
    const indent = (m[1] as string).length;
    const body = (m[2] as string)
      .split('\n')
      .map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length)))
      .join('\n');
    return YAML.parse(body) as Workflow;
  })
  .filter((w) => w && typeof w === 'object' && w.jobs && Object.values(w.jobs).some((j) => j.uses))
  .map((w, i) => [`README snippet ${i + 1} (${Object.values(w.jobs).find((j) => j.uses)?.uses})`, w]);

/** The reusable workflow a job calls: this repository's file, by local path or by postgres-dr/postgres-dr. */
function calleeOf(uses: string): string {
  const m = /^(?:\.\/|postgres-dr\/postgres-dr\/)\.github\/workflows\/([a-z0-9-]+\.ya?ml)(?:@.+)?$/.exec(uses);
  if (!m) throw new Error(`not one of our reusable workflows: ${uses}`);
  return m[1] as string;
}

/** Which of our commands a step runs that reaches storage: our actions, or the bundled CLI. */
function commandOf(step: Step): string | null {
  const m = /^\.\/(?:\.postgres-dr\/)?actions\/([a-z]+)\/?$/.exec(step.uses ?? '');
  if (m) return m[1] as string;
  if (step.uses === './' || step.uses === '.') return String(step.with?.command ?? '');
  if (/postgres-dr\/postgres-dr(\/actions\/[a-z]+)?@/.test(step.uses ?? '')) return 'remote';
  const cli = /\bdist\/cli\/index\.js (\w+)/.exec(step.run ?? '');
  return cli ? (cli[1] as string) : null;
}

const JOB_CONTEXT = { workflow_repository: 'owner-of/this-workflow', workflow_sha: 'c0ffee'.repeat(6) + 'c0fe' };
const OIDC_KEYS = {
  AWS_ACCESS_KEY_ID: 'ASIA-from-the-role',
  AWS_SECRET_ACCESS_KEY: 'role-secret',
  AWS_SESSION_TOKEN: 't',
};

interface Resolved {
  where: string;
  step: Step;
  env: Record<string, string>;
  with: Record<string, string>;
}

/** Walks one job's steps as the runner does and returns each executed step with its resolved env and inputs. */
function runJob(where: string, wf: Workflow, job: Job, base: Contexts): Resolved[] {
  const contexts: Contexts = {
    github: { repository: 'caller/repo', ref: 'refs/heads/main', event: { repository: { default_branch: 'main' } } },
    job: JOB_CONTEXT,
    runner: { temp: '/home/runner/work/_temp' },
    needs: {},
    steps: {},
    ...base,
  };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(wf.env ?? {})) env[k] = stringOf(evaluateTemplate(v, { ...contexts, env: {} }));
  for (const [k, v] of Object.entries(job.env ?? {})) env[k] = stringOf(evaluateTemplate(v, { ...contexts, env: {} }));
  const out: Resolved[] = [];
  for (const step of job.steps ?? []) {
    const before: Contexts = { ...contexts, env: { ...env } };
    if (!evaluateCondition(step.if, before)) continue;
    const stepEnv = { ...env };
    for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = stringOf(evaluateTemplate(v, before));
    const inputs: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.with ?? {})) {
      inputs[k] = stringOf(evaluateTemplate(v, { ...contexts, env: stepEnv }));
    }
    out.push({
      where: `${where} › ${step.name ?? step.uses ?? step.run?.slice(0, 30)}`,
      step,
      env: stepEnv,
      with: inputs,
    });
    // configure-aws-credentials with a role exports the role's credentials through GITHUB_ENV.
    if (step.uses?.startsWith('aws-actions/configure-aws-credentials@') && inputs['role-to-assume']) {
      Object.assign(env, OIDC_KEYS, { AWS_REGION: inputs['aws-region'] ?? '' });
    }
    if (/GITHUB_ENV/.test(step.run ?? '') && /AWS_/.test(step.run ?? '')) {
      throw new Error(`${where}: a run step writes AWS_* to GITHUB_ENV, which this check does not model`);
    }
  }
  return out;
}

const namesIn = (text: string, context: string): string[] => [
  ...new Set([...text.matchAll(new RegExp(`\\b${context}\\.([A-Za-z0-9_]+)`, 'g'))].map((m) => m[1] as string)),
];

type Path = 'keys' | 'oidc';
/** Secrets and variables of a repository configured for one credential path. */
function repositoryFor(text: string, p: Path): { secrets: Record<string, Value>; vars: Record<string, Value> } {
  const secrets: Record<string, Value> = {};
  for (const s of namesIn(text, 'secrets')) {
    if (p === 'oidc' && /AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)$/.test(s)) continue; // an unset secret is ''
    secrets[s] = `${s}-secret`;
  }
  const vars: Record<string, Value> = {};
  for (const v of namesIn(text, 'vars')) {
    if (/ROLE_ARN/.test(v)) {
      if (p === 'oidc') vars[v] = `arn:aws:iam::123456789012:role/${v}`;
    } else if (/DESTINATION$/.test(v)) vars[v] = 's3://bucket/prefix';
    else if (/S3_ENDPOINT$|POSTGRES_IMAGE$/.test(v)) continue;
    else vars[v] = `${v}-value`;
  }
  return { secrets, vars };
}

/** The inputs and secrets a call hands the callee, evaluated in the caller's contexts. */
function callContexts(job: Job, caller: Contexts): Contexts {
  const callee = workflows.get(calleeOf(job.uses as string)) as Workflow;
  const inputs: Record<string, Value> = {};
  for (const [k, spec] of Object.entries(callee.on.workflow_call?.inputs ?? {}))
    inputs[k] = (spec.default ?? '') as Value;
  for (const [k, v] of Object.entries(job.with ?? {})) inputs[k] = evaluateTemplate(v, caller);
  const secrets: Record<string, Value> = {};
  if (job.secrets === 'inherit') Object.assign(secrets, caller.secrets);
  else for (const [k, v] of Object.entries(job.secrets ?? {})) secrets[k] = evaluateTemplate(v, caller);
  return { inputs, secrets, vars: caller.vars ?? {} };
}

/** Every step, of a workflow run as it stands or of the workflows it calls. */
function resolveWorkflow(name: string, wf: Workflow, base: Contexts): Resolved[] {
  const out: Resolved[] = [];
  for (const [jobName, job] of Object.entries(wf.jobs)) {
    if (job.uses) {
      const callee = calleeOf(job.uses);
      out.push(
        ...resolveWorkflow(
          `${name} › ${jobName} → ${callee}`,
          workflows.get(callee) as Workflow,
          callContexts(job, base),
        ),
      );
    } else {
      out.push(...runJob(`${name} › ${jobName}`, wf, job, base));
    }
  }
  return out;
}

const reachesStorage = (r: Resolved): boolean => {
  const command = commandOf(r.step);
  if (!command || command === 'keygen' || command === 'synth') return false;
  const destination = r.step.run ? r.env.PGDR_DESTINATION : r.with.destination;
  if (command === 'notify' && !destination) return false;
  return (destination ?? '').startsWith('s3://');
};

function storageSteps(name: string, wf: Workflow, base: Contexts): Resolved[] {
  return resolveWorkflow(name, wf, base).filter(reachesStorage);
}

const scenarios: Array<[string, Path]> = files.flatMap((f) => [
  [f, 'keys'],
  [f, 'oidc'],
]) as Array<[string, Path]>;

describe('credentials as the runner resolves them', () => {
  it.each(scenarios)('%s, %s path: every storage step sees non-empty AWS credentials', (file, p) => {
    const wf = workflows.get(file) as Workflow;
    const steps = storageSteps(file, wf, { inputs: {}, ...repositoryFor(texts.get(file) as string, p) });
    if (file !== 'ci.yml') expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) {
      expect.soft(s.env.AWS_ACCESS_KEY_ID, s.where).toBeTruthy();
      expect.soft(s.env.AWS_SECRET_ACCESS_KEY, s.where).toBeTruthy();
      if (p === 'oidc' && file !== 'ci.yml')
        expect.soft(s.env.AWS_ACCESS_KEY_ID, s.where).toBe(OIDC_KEYS.AWS_ACCESS_KEY_ID);
    }
  });

  it.each(snippets)('%s: every storage step of the called workflow sees non-empty AWS credentials', (_n, wf) => {
    const text = YAML.stringify(wf);
    const secrets = Object.fromEntries(namesIn(text, 'secrets').map((s) => [s, `${s}-secret`]));
    const steps = storageSteps('README', wf, { inputs: {}, secrets, vars: {} });
    expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) {
      expect.soft(s.env.AWS_ACCESS_KEY_ID, s.where).toBeTruthy();
      expect.soft(s.env.AWS_SECRET_ACCESS_KEY, s.where).toBeTruthy();
    }
  });

  it('the check fails keys set in a step env: (they blank the OIDC role’s credentials)', () => {
    const wf = structuredClone(workflows.get('backup.yml') as Workflow);
    const job = wf.jobs.backup as Job;
    delete job.env?.AWS_ACCESS_KEY_ID;
    delete job.env?.AWS_SECRET_ACCESS_KEY;
    const step = (job.steps ?? []).find((s) => commandOf(s) === 'backup') as Step;
    const fromSecret = (name: string): string => `\${{ secrets.${name} }}`; // a workflow expression
    step.env = {
      AWS_ACCESS_KEY_ID: fromSecret('AWS_ACCESS_KEY_ID'),
      AWS_SECRET_ACCESS_KEY: fromSecret('AWS_SECRET_ACCESS_KEY'),
    };
    const oidc = runJob('mutated', wf, job, {
      inputs: {},
      ...repositoryFor(texts.get('backup.yml') as string, 'oidc'),
    });
    const backup = oidc.find((r) => commandOf(r.step) === 'backup') as Resolved;
    expect(backup.env.AWS_ACCESS_KEY_ID).toBe('');
  });

  it('the README has caller snippets for backup.yml (OIDC and keys) and restore-test.yml', () => {
    const called = snippets.flatMap(([, wf]) => Object.values(wf.jobs).map((j) => (j.uses ? calleeOf(j.uses) : '')));
    expect(called.filter((c) => c === 'backup.yml').length).toBeGreaterThanOrEqual(2);
    expect(called).toContain('restore-test.yml');
  });
});

describe('one version: our actions run from the workflow’s own commit', () => {
  const uses: Array<[string, string, Workflow, Job, number]> = [];
  for (const [file, wf] of workflows) {
    for (const [jobName, job] of Object.entries(wf.jobs)) {
      (job.steps ?? []).forEach((step, i) => {
        if (commandOf(step)) uses.push([`${file} › ${jobName} › ${step.name ?? step.uses}`, file, wf, job, i]);
      });
    }
  }

  it('there are such steps', () => {
    expect(uses.length).toBeGreaterThan(10);
  });

  it.each(uses)('%s', (_where, file, wf, job, index) => {
    const step = (job.steps ?? [])[index] as Step;
    expect(commandOf(step)).not.toBe('remote'); // owner/repo/actions/x@tag: whatever the tag points to
    const checkouts = (job.steps ?? []).slice(0, index).filter((s) => s.uses?.startsWith('actions/checkout@'));
    const fromCheckout = step.run
      ? /\.postgres-dr\/dist\/cli/.test(step.run)
      : step.uses?.startsWith('./.postgres-dr/');
    if (fromCheckout) {
      const co = checkouts.find((s) => s.with?.path === '.postgres-dr');
      expect(co, 'a checkout into .postgres-dr before it').toBeDefined();
      const contexts: Contexts = { job: JOB_CONTEXT, inputs: {}, vars: {}, secrets: {} };
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(wf.env ?? {}))
        env[k] = stringOf(evaluateTemplate(v, { ...contexts, env: {} }));
      expect(evaluateTemplate(co?.with?.repository, { ...contexts, env })).toBe(JOB_CONTEXT.workflow_repository);
      expect(evaluateTemplate(co?.with?.ref, { ...contexts, env })).toBe(JOB_CONTEXT.workflow_sha);
    } else {
      // ./actions/x is the caller's checkout in a called workflow: only a workflow that is never called
      // may use it, after checking out its own commit (no repository/ref).
      expect(wf.on.workflow_call, `${file} is callable`).toBeUndefined();
      expect(checkouts.some((s) => !s.with?.repository && !s.with?.ref && !s.with?.path)).toBe(true);
    }
  });
});

describe('a copy in the user’s repository', () => {
  // The README's edit for a copy: the two PGDR_SOURCE_* lines; every checkout then takes that release.
  const edit = [...readme.matchAll(/```yaml\n(env:\n[\s\S]*?PGDR_SOURCE_REF[\s\S]*?)```/g)][0]?.[1];

  it.each(['restore.yml', 'restore-test.yml', 'dr-drill.yml'])(
    '%s with the README’s env: edit runs that release',
    (file) => {
      expect(edit).toBeDefined();
      const wf = structuredClone(workflows.get(file) as Workflow);
      Object.assign(wf.env ?? {}, (YAML.parse(edit as string) as { env: Record<string, string> }).env);
      const contexts: Contexts = { job: JOB_CONTEXT, inputs: {}, vars: {}, secrets: {} };
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(wf.env ?? {}))
        env[k] = stringOf(evaluateTemplate(v, { ...contexts, env: {} }));
      const checkouts = Object.values(wf.jobs).flatMap((j) =>
        (j.steps ?? []).filter((st) => st.uses?.startsWith('actions/checkout@') && st.with?.path === '.postgres-dr'),
      );
      expect(checkouts.length).toBe(Object.keys(wf.jobs).length);
      for (const co of checkouts) {
        expect(evaluateTemplate(co.with?.repository, { ...contexts, env })).toBe('postgres-dr/postgres-dr');
        expect(evaluateTemplate(co.with?.ref, { ...contexts, env })).toBe(env.PGDR_SOURCE_REF);
      }
    },
  );
});

const LEVEL: Record<string, number> = { none: 0, read: 1, write: 2 };
function permissionsOf(p: Job['permissions']): Record<string, number> {
  if (p === undefined) return {};
  if (typeof p === 'string') {
    const all = p === 'write-all' ? 2 : p === 'read-all' ? 1 : 0;
    return new Proxy({}, { get: () => all });
  }
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, LEVEL[v] ?? 0]));
}

const calls: Array<[string, Workflow, Job]> = [
  ...snippets.flatMap(([n, wf]) =>
    Object.entries(wf.jobs)
      .filter(([, j]) => j.uses)
      .map(([jn, j]) => [`${n} › ${jn}`, wf, j] as [string, Workflow, Job]),
  ),
  ...[...workflows].flatMap(([f, wf]) =>
    Object.entries(wf.jobs)
      .filter(([, j]) => j.uses)
      .map(([jn, j]) => [`${f} › ${jn}`, wf, j] as [string, Workflow, Job]),
  ),
];

describe('calls of the reusable workflows', () => {
  it('workflows-e2e.yml calls backup.yml and restore-test.yml by path', () => {
    const e2e = workflows.get('workflows-e2e.yml') as Workflow;
    expect(Object.values(e2e.jobs).map((j) => j.uses)).toEqual(
      expect.arrayContaining(['./.github/workflows/backup.yml', './.github/workflows/restore-test.yml']),
    );
  });

  it.each(calls)('%s grants every permission the called jobs ask for', (_n, caller, job) => {
    const callee = workflows.get(calleeOf(job.uses as string)) as Workflow;
    const granted = permissionsOf(job.permissions ?? caller.permissions);
    const missing: string[] = [];
    for (const [jobName, j] of Object.entries(callee.jobs)) {
      for (const [scope, level] of Object.entries(permissionsOf(j.permissions))) {
        if ((granted[scope] ?? 0) < level) missing.push(`${jobName}: ${scope}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it.each(calls)('%s passes only declared inputs and secrets, every required one', (_n, _caller, job) => {
    const callee = (workflows.get(calleeOf(job.uses as string)) as Workflow).on.workflow_call;
    expect(callee, 'the callee has on.workflow_call').toBeDefined();
    const inputs = callee?.inputs ?? {};
    const secrets = callee?.secrets ?? {};
    expect(Object.keys(job.with ?? {}).filter((k) => !(k in inputs))).toEqual([]);
    if (job.secrets !== 'inherit') expect(Object.keys(job.secrets ?? {}).filter((k) => !(k in secrets))).toEqual([]);
    const given = (k: string, where: Record<string, unknown> | 'inherit' | undefined) =>
      where === 'inherit' || (where !== undefined && k in where);
    expect(
      Object.entries(inputs)
        .filter(([k, s]) => s.required && !given(k, job.with))
        .map(([k]) => k),
    ).toEqual([]);
    expect(
      Object.entries(secrets)
        .filter(([k, s]) => s.required && !given(k, job.secrets))
        .map(([k]) => k),
    ).toEqual([]);
  });
});
