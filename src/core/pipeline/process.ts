/**
 * Child processes as streams whose success is part of the stream: a source's 'end', a transform's 'end'
 * and a sink's 'finish' are held back until the process has exited with status 0, so a pipeline can only
 * complete when every process in it succeeded. Destroying the stream kills the process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Duplex, Readable, Writable } from 'node:stream';
import { redact } from '../../util/secrets.js';

export interface ProcessOptions {
  /** Name for messages, e.g. 'pg_dump'. */
  name: string;
  /** The child's whole environment (build it on baseEnv()); default baseEnv(). Never the parent's as is. */
  env?: NodeJS.ProcessEnv;
  /** Data written to fd 3 (then closed): how secrets reach gpg without argv or files. */
  fd3?: string;
  /** Called per stderr line; return an Error to fail the stream (e.g. 'pg_dump: error: …'). */
  onStderrLine?: (line: string) => Error | undefined;
  /** Exit statuses that count as success (default [0]). */
  okStatuses?: number[];
  /** Called after a successful exit (stderr fully read): return an Error to fail anyway (gpg's status). */
  onExit?: () => Error | undefined;
  /**
   * Holds the child's stdout back until this settles: null lets it through, an Error fails the stream
   * before a byte of output went downstream (gpg: nothing passes until the status says "decrypting").
   */
  outputGate?: Promise<Error | null>;
  /** Receives the promise of the process's end, so an owner can wait for it (gpg's home outlives no gpg). */
  track?: Set<Promise<unknown>>;
}

/**
 * What a child inherits from us: how to find programs, where home and temp are, locale, time zone, proxies
 * and (Windows) the system paths; never INPUT_*, AWS_*, GITHUB_*, ACTIONS_* or any other secret or token
 * of the runner. The libpq variables a PostgreSQL tool needs are added by its caller (childEnv).
 */
const INHERITED = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'GNUPGHOME',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'DEBIAN_FRONTEND',
  'SYSTEMROOT',
  'SystemRoot',
  'WINDIR',
  'COMSPEC',
  'PATHEXT',
]);

export function baseEnv(parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(parent)) {
    if (v !== undefined && (INHERITED.has(k) || k.startsWith('LC_'))) env[k] = v;
  }
  return env;
}

export class ProcessError extends Error {
  override name = 'ProcessError';
  constructor(
    message: string,
    readonly status: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

interface Watched {
  child: ChildProcess;
  /** False while `outputGate` holds stdout back. */
  gateOpen: boolean;
  /** Resolves once stderr has been read to its end. */
  stderrDone: Promise<void>;
  /** Resolves when the process exited and its stderr is fully read: null on success, else the error. */
  done: Promise<Error | null>;
  kill(): void;
}

const STDERR_KEEP = 16 * 1024;

function watch(
  cmd: string,
  args: string[],
  o: ProcessOptions,
  stdin: 'pipe' | 'ignore',
  stdout: 'pipe' | 'ignore',
): Watched {
  const stdio: Array<'pipe' | 'ignore'> = [stdin, stdout, 'pipe'];
  if (o.fd3 !== undefined) stdio.push('pipe');
  const child = spawn(cmd, args, { env: o.env ?? baseEnv(), stdio });
  if (o.fd3 !== undefined) {
    const fd3 = child.stdio[3] as Writable;
    fd3.on('error', () => {});
    fd3.end(o.fd3);
  }
  let stderr = '';
  let pending = '';
  let lineError: Error | undefined;
  const stderrDone = new Promise<void>((resolve) => {
    child.stderr?.on('data', (c: Buffer) => {
      const text = c.toString('utf8');
      stderr = (stderr + text).slice(-STDERR_KEEP);
      pending += text;
      let i = pending.indexOf('\n');
      while (i !== -1) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        const e = o.onStderrLine?.(line);
        if (e && !lineError) lineError = e;
        i = pending.indexOf('\n');
      }
    });
    child.stderr?.on('end', () => {
      if (pending) {
        const e = o.onStderrLine?.(pending);
        if (e && !lineError) lineError = e;
      }
      resolve();
    });
    child.stderr?.on('error', () => resolve());
  });
  const ok = o.okStatuses ?? [0];
  const done = new Promise<Error | null>((resolve) => {
    child.once('error', (err) => {
      resolve(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new ProcessError(`${o.name}: program not found (${cmd})`, null, null, '')
          : new ProcessError(`${o.name}: ${err.message}`, null, null, ''),
      );
    });
    child.once('close', async (status, signal) => {
      await stderrDone;
      if (lineError) resolve(lineError);
      else if (status !== null && ok.includes(status)) resolve(o.onExit?.() ?? null);
      else {
        const tail = redact(stderr.trim().split('\n').slice(-5).join('\n'));
        const how = signal ? `was killed by ${signal}` : `exited with status ${status}`;
        resolve(new ProcessError(`${o.name} ${how}${tail ? `: ${tail}` : ''}`, status, signal, redact(stderr)));
      }
    });
  });
  if (o.track) {
    const tracked = o.track;
    tracked.add(done);
    void done.then(() => tracked.delete(done));
  }
  let killed = false;
  return {
    child,
    gateOpen: o.outputGate === undefined,
    stderrDone,
    done,
    kill() {
      if (killed || child.exitCode !== null || child.signalCode !== null) return;
      killed = true;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      t.unref();
      child.once('close', () => clearTimeout(t));
    },
  };
}

function pump(w: Watched, target: Readable | Duplex, gate?: Promise<Error | null>): void {
  const out = w.child.stdout as Readable;
  const flow = (): void => {
    out.on('data', (c: Buffer) => {
      if (!target.push(c)) out.pause();
    });
  };
  if (!gate) flow();
  else {
    // No 'data' listener until the gate opens: stdout stays paused and the child blocks on a full pipe.
    let settled = false;
    void gate.then((err) => {
      settled = true;
      if (err) target.destroy(err);
      else {
        w.gateOpen = true;
        flow();
      }
    });
    // The gate is decided by stderr lines; stderr ended undecided: drain stdout unread so the child can
    // close (its exit check then says what was wrong).
    void w.stderrDone.then(() => {
      if (!settled) out.resume();
    });
  }
  out.once('end', () => {
    void w.done.then((err) => {
      if (err) target.destroy(err);
      else target.push(null);
    });
  });
  out.on('error', (err) => target.destroy(err));
}

/** Writes a chunk to the child's stdin, calling back once it may take more (backpressure). */
function writeStdin(w: Watched, chunk: Buffer, cb: (err?: Error | null) => void): void {
  const stdin = w.child.stdin as Writable;
  if (stdin.write(chunk)) cb();
  else stdin.once('drain', () => cb());
}

/**
 * Ties a stream's fate to its process: a failed write to stdin (EPIPE: the process went away) reports the
 * process's own error (exit status, stderr), and a failed process destroys the stream.
 */
function bindFailures(w: Watched, stream: Readable | Writable | Duplex): void {
  w.child.stdin?.on('error', (err) => {
    void w.done.then((e) => stream.destroy(e ?? err));
  });
  void w.done.then((err) => {
    if (err && !stream.destroyed) stream.destroy(err);
  });
}

/** A process's stdout as a Readable (e.g. pg_dump). */
export function processSource(cmd: string, args: string[], o: ProcessOptions): Readable {
  let w: Watched;
  const r = new Readable({
    highWaterMark: 256 * 1024,
    read() {
      if (w.gateOpen) w.child.stdout?.resume();
    },
    destroy(err, cb) {
      w.kill();
      cb(err);
    },
  });
  w = watch(cmd, args, o, 'ignore', 'pipe');
  pump(w, r, o.outputGate);
  bindFailures(w, r);
  return r;
}

/** A process as a transform (e.g. gpg): stdin in, stdout out. */
export function processTransform(cmd: string, args: string[], o: ProcessOptions): Duplex {
  let w: Watched;
  const d = new Duplex({
    readableHighWaterMark: 256 * 1024,
    writableHighWaterMark: 256 * 1024,
    write(chunk: Buffer, _enc, cb) {
      writeStdin(w, chunk, cb);
    },
    final(cb) {
      w.child.stdin?.end();
      cb();
    },
    read() {
      if (w.gateOpen) w.child.stdout?.resume();
    },
    destroy(err, cb) {
      w.kill();
      cb(err);
    },
  });
  w = watch(cmd, args, o, 'pipe', 'pipe');
  pump(w, d, o.outputGate);
  bindFailures(w, d);
  return d;
}

/** A process's stdin as a Writable (e.g. psql); 'finish' waits for a successful exit. */
export function processSink(cmd: string, args: string[], o: ProcessOptions): Writable {
  let w: Watched;
  const s = new Writable({
    highWaterMark: 256 * 1024,
    write(chunk: Buffer, _enc, cb) {
      writeStdin(w, chunk, cb);
    },
    final(cb) {
      w.child.stdin?.end();
      void w.done.then((err) => cb(err ?? undefined));
    },
    destroy(err, cb) {
      w.kill();
      cb(err);
    },
  });
  w = watch(cmd, args, o, 'pipe', 'ignore');
  // The process may fail before a pipeline has taken the sink: keep the error on the stream (pipeline
  // sees `errored`) instead of crashing on an unhandled 'error'.
  s.on('error', () => {});
  bindFailures(w, s);
  return s;
}

/** Runs a process to completion, returning stdout; throws ProcessError on failure. */
export async function runProcess(cmd: string, args: string[], o: ProcessOptions & { input?: string }): Promise<string> {
  const w = watch(cmd, args, o, o.input !== undefined ? 'pipe' : 'ignore', 'pipe');
  if (o.input !== undefined) {
    w.child.stdin?.on('error', () => {});
    w.child.stdin?.end(o.input);
  }
  const chunks: Buffer[] = [];
  w.child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const err = await w.done;
  if (err) throw err;
  return Buffer.concat(chunks).toString('utf8');
}
