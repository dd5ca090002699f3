/**
 * A pg_dump that matches the server. `pg-version: auto` takes the oldest installed client at least the
 * server's major; when there is none, GitHub's Linux runners get `postgresql-client-<major>` from the
 * PostgreSQL apt repository (PGDG), its .deb files cached between runs; anywhere else the run fails
 * before any upload, with the exact commands to run. The decision and the commands are pure (planned
 * here, tested by a table); runInstallPlan runs them through a port the action implements with
 * @actions/exec and @actions/cache, so the core stays free of @actions/*. Cached .deb files are
 * installed only when apt's signed index vouches for each of them (cached-debs.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describeError, UserError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { type AptQueries, type CacheVerdict, verifyCachedDebs } from './cached-debs.js';
import { findTool, installedTools, type PgTool, type ToolName } from './tools.js';

export type PgVersionRequest = 'auto' | number;

/** Where the run is: only a GitHub Actions Linux runner with apt and root (or sudo) installs by itself. */
export interface ClientEnvironment {
  githubActions: boolean;
  /** RUNNER_OS: Linux, macOS, Windows. */
  runnerOs?: string;
  /** process.platform */
  platform: string;
  aptGet: boolean;
  /** PostgreSQL's own apt setup script (from postgresql-common) is present. */
  pgdgScript: boolean;
  /** Running as root (no sudo needed). */
  root: boolean;
  sudo: boolean;
  /** ImageOS / ImageVersion of GitHub's runner images, for the cache key. */
  imageOs?: string;
  imageVersion?: string;
  arch: string;
}

/** Debian/Ubuntu install each major under /usr/lib/postgresql/<major>/bin. */
export const DEBIAN_INSTALL_ROOT = '/usr/lib/postgresql';
export const PGDG_SCRIPT = '/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh';

export interface InstallPlan {
  major: number;
  package: string;
  /** Where the installed client lives. */
  binDir: string;
  cacheKey: string;
  /** The .deb files are downloaded here and cached under `cacheKey`. */
  cacheDir: string;
  /**
   * Run first, cache hit or not: the PGDG repository set up and apt's signed index refreshed (the PGDG
   * script runs apt-get update), so cached files can be judged against it.
   */
  indexSetup: string[][];
  /** Installs .deb files: the cached files apt's index vouched for are appended. */
  installDebs: string[];
  /** Run without a trusted cache: empty cacheDir, download into it, install, make it cacheable. */
  fromNetwork: string[][];
}

export type ClientPlan =
  | { action: 'use'; major: number }
  | { action: 'install'; install: InstallPlan }
  | { action: 'fail'; message: string };

/** Runs an InstallPlan (runInstallPlan with the host's commands and cache). Implemented in src/hosts/. */
export interface PgClientInstaller {
  install(plan: InstallPlan, log: Logger): Promise<void>;
}

export function parsePgVersion(value: string, input = 'pg-version'): PgVersionRequest {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (/^\d+$/.test(v) && Number(v) >= 10 && Number(v) <= 99) return Number(v);
  throw new UserError(`'${input}' must be 'auto' or a PostgreSQL major version such as 17 (got '${value}')`);
}

/** The commands a person runs to get the client for `major`, for error messages. */
export function manualInstallCommand(
  major: number,
  env: Pick<ClientEnvironment, 'platform' | 'aptGet' | 'root'>,
): string {
  if (env.platform === 'darwin') return `brew install postgresql@${major}`;
  if (env.platform === 'linux' && env.aptGet) {
    const sudo = env.root ? '' : 'sudo ';
    return (
      `${sudo}apt-get install -y postgresql-common && ${sudo}${PGDG_SCRIPT} -y && ` +
      `${sudo}apt-get install -y postgresql-client-${major}`
    );
  }
  return `install the PostgreSQL ${major} client tools (https://www.postgresql.org/download/)`;
}

/** The steps that install `postgresql-client-<major>` through apt, caching the downloaded .deb files. */
export function installPlan(
  major: number,
  env: ClientEnvironment,
  cacheDir: string,
  installRoot = DEBIAN_INSTALL_ROOT,
): InstallPlan {
  const pkg = `postgresql-client-${major}`;
  const sudo = env.root ? [] : ['sudo'];
  const setup: string[][] = env.pgdgScript
    ? [[...sudo, PGDG_SCRIPT, '-y']]
    : [
        [...sudo, 'apt-get', 'update'],
        [...sudo, 'apt-get', 'install', '-y', 'postgresql-common'],
        [...sudo, PGDG_SCRIPT, '-y'],
      ];
  return {
    major,
    package: pkg,
    binDir: path.join(installRoot, String(major), 'bin'),
    cacheKey: `pgdr-pg-client-${env.imageOs ?? env.platform}-${env.imageVersion ?? 'any'}-${env.arch}-${major}`,
    cacheDir,
    indexSetup: setup,
    installDebs: [...sudo, 'dpkg', '-i'],
    fromNetwork: [
      // A refused cache entry leaves its files here: start from nothing but what apt downloads.
      [...sudo, 'rm', '-rf', cacheDir],
      ['mkdir', '-p', path.join(cacheDir, 'partial')],
      [
        ...sudo,
        'apt-get',
        'install',
        '-y',
        '--no-install-recommends',
        '--download-only',
        '-o',
        `Dir::Cache::archives=${cacheDir}`,
        pkg,
      ],
      // apt verified each download against its signed index; the directory holds nothing else.
      [...sudo, 'sh', '-c', 'dpkg -i "$1"/*.deb', 'sh', cacheDir],
      // apt's lock file and partial/ are root-only: the cache must be able to read what it saves.
      [...sudo, 'rm', '-rf', path.join(cacheDir, 'partial'), path.join(cacheDir, 'lock')],
      [...sudo, 'chmod', '-R', 'a+rX', cacheDir],
    ],
  };
}

/** What running a plan needs from its host: commands run, and the cache. */
export interface InstallIo {
  /** Runs each step in order (minimal environment, baseEnv); throws on the first failure. */
  run(steps: string[][]): Promise<void>;
  /** Restores the cache entry `plan.cacheKey` into `plan.cacheDir`: true on a hit (false when unavailable). */
  restore(): Promise<boolean>;
  /** Saves `plan.cacheDir` under `plan.cacheKey` (the host reports its own failures). */
  save(): Promise<void>;
  /** How apt's index is queried; default the system's apt-get and apt-cache. */
  apt?: AptQueries;
}

/**
 * Runs an install plan: refresh apt's index; with a restored cache entry, install its files only when
 * apt's signed index vouches for every one (verifyCachedDebs), else discard them and download afresh.
 */
export async function runInstallPlan(plan: InstallPlan, io: InstallIo, log: Logger): Promise<void> {
  const hit = await io.restore();
  await io.run(plan.indexSetup);
  if (hit) {
    let verdict: CacheVerdict;
    try {
      verdict = await verifyCachedDebs(plan.cacheDir, plan.package, io.apt);
    } catch (err) {
      verdict = { trusted: false, refused: [{ file: plan.cacheDir, reason: describeError(err) }] };
    }
    if (verdict.trusted) {
      log.info(`${plan.package}: the cached .deb files match apt's signed index (${plan.cacheKey})`);
      try {
        await io.run([[...plan.installDebs, ...verdict.files]]);
        return;
      } catch (err) {
        log.warn(`installing the cached .deb files failed (${describeError(err)}); downloading instead`);
      }
    } else {
      for (const r of verdict.refused) log.warn(`cached ${r.file} refused: ${r.reason}`);
      log.warn(
        `the ${plan.package} cache entry ${plan.cacheKey} is not what apt's signed index lists: ` +
          'its files are discarded and the packages downloaded from the repository',
      );
    }
  }
  await io.run(plan.fromNetwork);
  await io.save();
}

/**
 * What to do for a server of `serverMajor`, given the installed client majors and where we run:
 * use an installed client, install one (GitHub Linux runners), or fail saying what to run.
 */
export function planPgClient(o: {
  tool: ToolName;
  serverMajor: number;
  request: PgVersionRequest;
  installed: number[];
  env: ClientEnvironment;
  cacheDir: string;
  input?: string;
  installRoot?: string;
}): ClientPlan {
  const input = o.input ?? 'pg-version';
  let wanted: number;
  if (o.request === 'auto') {
    const fit = o.installed.filter((m) => m >= o.serverMajor).sort((a, b) => a - b);
    if (fit[0] !== undefined) return { action: 'use', major: fit[0] };
    wanted = o.serverMajor;
  } else {
    if (o.request < o.serverMajor) {
      return {
        action: 'fail',
        message: `'${input}: ${o.request}' is older than the server (PostgreSQL ${o.serverMajor}): ${o.tool} ${o.request} cannot handle it; use '${input}: auto' or ${o.serverMajor} or newer`,
      };
    }
    if (o.installed.includes(o.request)) return { action: 'use', major: o.request };
    wanted = o.request;
  }
  const e = o.env;
  const canInstall = e.githubActions && e.runnerOs === 'Linux' && e.aptGet && (e.root || e.sudo);
  if (canInstall) return { action: 'install', install: installPlan(wanted, e, o.cacheDir, o.installRoot) };
  const have = o.installed.length
    ? `installed: ${[...o.installed].sort((a, b) => a - b).join(', ')}`
    : 'none installed';
  const why = o.request === 'auto' ? `the server is PostgreSQL ${o.serverMajor}` : `'${input}: ${o.request}'`;
  return {
    action: 'fail',
    message:
      `${o.tool} ${wanted} or newer is needed (${why}; ${o.tool} ${have}). Install it — ` +
      `${manualInstallCommand(wanted, e)} — or point 'pg-bin-dir' at a directory holding ${o.tool} ${wanted}` +
      (e.githubActions ? '' : ". On GitHub's Linux runners the action installs it by itself"),
  };
}

function onPath(file: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, file)));
}

export function detectClientEnvironment(env: NodeJS.ProcessEnv = process.env): ClientEnvironment {
  return {
    githubActions: env.GITHUB_ACTIONS === 'true',
    runnerOs: env.RUNNER_OS,
    platform: process.platform,
    aptGet: onPath('apt-get'),
    pgdgScript: fs.existsSync(PGDG_SCRIPT),
    root: typeof process.getuid === 'function' && process.getuid() === 0,
    sudo: onPath('sudo'),
    imageOs: env.ImageOS,
    imageVersion: env.ImageVersion,
    arch: process.arch,
  };
}

/**
 * The client tool for a server of `serverMajor`: `pg-bin-dir` when given, else per `request` an
 * installed one or one installed through `installer`. Throws UserError (before any upload) otherwise.
 */
export async function resolvePgTool(
  tool: ToolName,
  serverMajor: number,
  o: {
    request: PgVersionRequest;
    binDir?: string;
    installer?: PgClientInstaller;
    env?: ClientEnvironment;
    cacheDir: string;
    log: Logger;
    /** Where installed majors land (tests); default /usr/lib/postgresql. */
    installRoot?: string;
  },
): Promise<PgTool> {
  if (o.binDir) return findTool(tool, serverMajor, o.binDir);
  const installed = await installedTools(tool);
  const env = o.env ?? detectClientEnvironment();
  const plan = planPgClient({
    tool,
    serverMajor,
    request: o.request,
    installed: [...new Set(installed.map((t) => t.major))],
    env,
    cacheDir: o.cacheDir,
    installRoot: o.installRoot,
  });
  if (plan.action === 'use') {
    const t = installed.filter((t) => t.major === plan.major)[0];
    if (!t) throw new Error(`${tool} ${plan.major} vanished`);
    return t;
  }
  if (plan.action === 'fail') throw new UserError(plan.message);
  if (!o.installer) {
    throw new UserError(
      `${tool} ${plan.install.major} is needed (the server is PostgreSQL ${serverMajor}): ${manualInstallCommand(plan.install.major, env)}`,
    );
  }
  await o.log.group(`Install ${plan.install.package} (the server is PostgreSQL ${serverMajor})`, () =>
    (o.installer as PgClientInstaller).install(plan.install, o.log),
  );
  return findTool(tool, serverMajor, plan.install.binDir);
}
