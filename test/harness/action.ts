/**
 * Runs a bundled action exactly as the Actions runner does: `node dist/<name>/index.js` with inputs as
 * INPUT_<NAME> environment variables, outputs collected from GITHUB_OUTPUT, the job summary from
 * GITHUB_STEP_SUMMARY. The build is the one the system project's global setup made from src/ (or
 * PGDR_DIST_DIR's).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The build under test (see global-setup.ts). */
export function distDir(): string {
  return inject('dist').dir;
}

export interface ActionRun {
  status: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** stdout without the `::add-mask::` commands (the runner hides those and masks their values). */
  visible: string;
  /** Lines of `::error::…` (what setFailed printed). */
  errors: string[];
  warnings: string[];
  /** Every command line (argv) of the action and the processes it started, sampled from /proc. */
  argvSeen?: string[];
}

/** Parses the GITHUB_OUTPUT file format (name<<delimiter … delimiter, or name=value). */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i] as string);
      out[name] = value.join('\n');
    } else if (line.includes('=')) {
      const k = line.slice(0, line.indexOf('='));
      out[k] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/** The messages of `::error::` / `::warning::` workflow commands, decoded (%25 → %, %0A → newline). */
function commandMessages(stdout: string, kind: 'error' | 'warning'): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(`::${kind}`))
    .map((l) =>
      l
        .replace(new RegExp(`^::${kind}[^:]*::`), '')
        .replace(/%0D/g, '\r')
        .replace(/%0A/g, '\n')
        .replace(/%25/g, '%'),
    );
}

export interface RunActionOptions {
  env?: Record<string, string | undefined>;
  /** Sample the command lines of the action's process and its descendants while it runs. */
  watchArgv?: boolean;
  /** Send this signal after `afterMs`. */
  signal?: { name: NodeJS.Signals; afterMs?: number; whenStdoutMatches?: RegExp };
  timeoutMs?: number;
  /** Node binary; default: the one running the tests (node 24 under `npm test`). */
  node?: string;
  cwd?: string;
}

/** The parent pid of every process, from /proc/<pid>/stat (read only: to find a run's descendants). */
function parentPids(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      // pid (comm) state ppid …; comm may hold spaces and parentheses, so parse after the last ')'.
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      parents.set(Number(pid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  return parents;
}

/** The command lines of `root` and its descendants (`known`: pids seen as descendants before, kept). */
function descendantCmdlines(root: number, known: Set<number>): string[] {
  known.add(root);
  const parents = parentPids();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!known.has(pid) && known.has(ppid)) {
        known.add(pid);
        grew = true;
      }
    }
  }
  const out: string[] = [];
  for (const pid of known) {
    if (!parents.has(pid)) continue;
    try {
      out.push(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // gone
    }
  }
  return out;
}

export async function runAction(
  name: string,
  inputs: Record<string, string>,
  o: RunActionOptions = {},
): Promise<ActionRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pgdr-action-${name}-`));
  const outputFile = path.join(dir, 'output');
  const summaryFile = path.join(dir, 'summary');
  fs.writeFileSync(outputFile, '');
  fs.writeFileSync(summaryFile, '');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('INPUT_')) env[k] = v;
  Object.assign(env, {
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: dir,
    GITHUB_WORKSPACE: o.cwd ?? dir,
  });
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(o.node ?? process.execPath, [path.join(distDir(), name, 'index.js')], {
    env,
    cwd: o.cwd ?? dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const argvSeen = new Set<string>();
  let sampler: NodeJS.Timeout | undefined;
  if (o.watchArgv && child.pid !== undefined) {
    const root = child.pid;
    const known = new Set<number>();
    sampler = setInterval(() => {
      for (const c of descendantCmdlines(root, known)) argvSeen.add(c);
    }, 5);
  }
  let signalled = false;
  const sendSignal = (): void => {
    if (!signalled && o.signal) {
      signalled = true;
      child.kill(o.signal.name);
    }
  };
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (o.signal?.whenStdoutMatches?.test(stdout)) sendSignal();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  let timer: NodeJS.Timeout | undefined;
  if (o.signal?.afterMs !== undefined) timer = setTimeout(sendSignal, o.signal.afterMs);
  const killer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 110_000);
  const status = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  clearTimeout(killer);
  if (timer) clearTimeout(timer);
  if (sampler) clearInterval(sampler);
  const result: ActionRun = {
    status,
    stdout,
    stderr,
    outputs: parseOutputFile(fs.readFileSync(outputFile, 'utf8')),
    summary: fs.readFileSync(summaryFile, 'utf8'),
    visible: stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n'),
    errors: commandMessages(stdout, 'error'),
    warnings: commandMessages(stdout, 'warning'),
    argvSeen: o.watchArgv ? [...argvSeen] : undefined,
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

/** Runs the pgdr CLI bundle. */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  const child = spawn(process.execPath, [path.join(distDir(), 'cli', 'index.js'), ...args], {
    env: e,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const status = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { status, stdout, stderr };
}
