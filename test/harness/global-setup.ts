/**
 * Global setup of the `system` project: one temporary directory for the whole run (TMPDIR points into it,
 * so the tests' and the actions' temporary files, gpg homes included, all land there), a fresh build of
 * src/ (what the end-to-end tests run and the dist/ staleness check compares), one PostgreSQL and one S3
 * API server. Torn down afterwards; a gpg-agent left running in the run's directory fails the run.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { leftoverGpgAgents } from './gnupg.js';
import { type PgServer, startPostgres } from './postgres.js';
import { type S3Server, startS3 } from './s3.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

declare module 'vitest' {
  export interface ProvidedContext {
    pg: { host: string; port: number; binDir: string; dataDir: string };
    s3: { endpoint: string };
    /** The build the end-to-end tests run; `fresh`: built from src/ by this run (not PGDR_DIST_DIR). */
    dist: { dir: string; fresh: boolean };
  }
}

/** `node scripts/build.mjs <root>/dist`, unless PGDR_DIST_DIR names a build to test instead. */
async function build(root: string): Promise<{ dir: string; fresh: boolean }> {
  if (process.env.PGDR_DIST_DIR) return { dir: path.resolve(process.env.PGDR_DIST_DIR), fresh: false };
  const dir = path.join(root, 'dist');
  try {
    await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'scripts/build.mjs'), dir], {
      cwd: REPO_ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`building src/ failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
  return { dir, fresh: true };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-test-'));
  // The server runs as the postgres user: it must reach its data directory below root.
  fs.chmodSync(root, 0o711);
  const previousTmpdir = process.env.TMPDIR;
  // Inherited by the test workers and everything they start.
  process.env.TMPDIR = root;

  let pg: PgServer | undefined;
  let s3: S3Server | undefined;
  const teardown = async (): Promise<void> => {
    pg?.stop();
    await s3?.stop();
    // Stopped before anything is removed, so that a leak is reported, not hidden.
    const agents = leftoverGpgAgents(root);
    if (previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmpdir;
    fs.rmSync(root, { recursive: true, force: true });
    if (agents.length > 0) {
      // Vitest reports a teardown error but does not fail the run for it: fail it here.
      process.exitCode = 1;
      throw new Error(
        `gpg-agents left running by the tests (stopped now; use test/harness/gnupg.ts): ${agents.join(', ')}`,
      );
    }
  };
  try {
    const [built, pgStarted, s3Started] = await Promise.allSettled([build(root), startPostgres(), startS3()]);
    if (pgStarted.status === 'fulfilled') pg = pgStarted.value;
    if (s3Started.status === 'fulfilled') s3 = s3Started.value;
    if (built.status === 'rejected') throw built.reason;
    if (pgStarted.status === 'rejected') throw pgStarted.reason;
    if (s3Started.status === 'rejected') throw s3Started.reason;
    const dist = built.value;
    const pgServer = pgStarted.value;
    const s3Server = s3Started.value;
    project.provide('dist', dist);
    project.provide('pg', {
      host: pgServer.host,
      port: pgServer.port,
      binDir: pgServer.binDir,
      dataDir: pgServer.dataDir,
    });
    project.provide('s3', { endpoint: s3Server.endpoint });
  } catch (err) {
    await teardown().catch(() => {});
    throw err;
  }
  return teardown;
}
