/**
 * Matching pg_dump: the pure decision (server major × installed clients × environment → use / install /
 * fail), the install commands it builds, and resolvePgTool running a plan through a fake installer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ClientEnvironment,
  type InstallPlan,
  installPlan,
  PGDG_SCRIPT,
  type PgVersionRequest,
  parsePgVersion,
  planPgClient,
  resolvePgTool,
} from '../../src/core/postgres/install.js';
import { UserError } from '../../src/util/errors.js';
import { silentLogger } from '../../src/util/log.js';

const GITHUB: ClientEnvironment = {
  githubActions: true,
  runnerOs: 'Linux',
  platform: 'linux',
  aptGet: true,
  pgdgScript: true,
  root: false,
  sudo: true,
  imageOs: 'ubuntu24',
  imageVersion: '20261110.1.0',
  arch: 'x64',
};
const LAPTOP_DEBIAN: ClientEnvironment = { ...GITHUB, githubActions: false, runnerOs: undefined };
const MAC_RUNNER: ClientEnvironment = { ...GITHUB, runnerOs: 'macOS', platform: 'darwin', aptGet: false };
const SELF_HOSTED_NO_SUDO: ClientEnvironment = { ...GITHUB, sudo: false, root: false };
const CONTAINER_ROOT: ClientEnvironment = { ...GITHUB, root: true, sudo: false, pgdgScript: false };
const CACHE = '/tmp/debs';

type Expected = { use: number } | { install: number; first: string[]; pgdg: boolean } | { fail: RegExp };

const table: Array<[string, number, PgVersionRequest, number[], ClientEnvironment, Expected]> = [
  ['same major installed', 16, 'auto', [16], GITHUB, { use: 16 }],
  ['newer installed: oldest fitting one', 15, 'auto', [14, 16, 17], GITHUB, { use: 16 }],
  [
    'only older installed, GitHub Linux: install',
    17,
    'auto',
    [16],
    GITHUB,
    { install: 17, first: ['mkdir'], pgdg: true },
  ],
  ['nothing installed, GitHub Linux: install', 17, 'auto', [], GITHUB, { install: 17, first: ['mkdir'], pgdg: true }],
  [
    'older installed, laptop: fail with apt commands',
    17,
    'auto',
    [15],
    LAPTOP_DEBIAN,
    {
      fail: /sudo apt-get install -y postgresql-common && sudo \/usr\/share\/postgresql-common\/pgdg\/apt\.postgresql\.org\.sh -y && sudo apt-get install -y postgresql-client-17/,
    },
  ],
  [
    'older installed, macOS runner: fail with brew',
    17,
    'auto',
    [16],
    MAC_RUNNER,
    { fail: /brew install postgresql@17/ },
  ],
  ['no sudo on a self-hosted runner: fail', 17, 'auto', [16], SELF_HOSTED_NO_SUDO, { fail: /postgresql-client-17/ }],
  [
    'root in a container, no PGDG script: install it first',
    17,
    'auto',
    [],
    CONTAINER_ROOT,
    { install: 17, first: ['mkdir'], pgdg: false },
  ],
  ['explicit major installed', 15, 17, [15, 17], LAPTOP_DEBIAN, { use: 17 }],
  [
    'explicit major missing, GitHub: install it',
    15,
    17,
    [15, 16],
    GITHUB,
    { install: 17, first: ['mkdir'], pgdg: true },
  ],
  [
    'explicit major older than the server: fail',
    17,
    16,
    [16, 17],
    GITHUB,
    { fail: /'pg-version: 16' is older than the server \(PostgreSQL 17\)/ },
  ],
  [
    'explicit major missing, laptop: fail',
    15,
    18,
    [15],
    LAPTOP_DEBIAN,
    { fail: /pg_dump 18 or newer is needed \('pg-version: 18'; pg_dump installed: 15\)/ },
  ],
];

describe('planPgClient', () => {
  it.each(table)('%s', (_label, serverMajor, request, installed, env, expected) => {
    const plan = planPgClient({ tool: 'pg_dump', serverMajor, request, installed, env, cacheDir: CACHE });
    if ('use' in expected) expect(plan).toEqual({ action: 'use', major: expected.use });
    else if ('fail' in expected) {
      expect(plan.action).toBe('fail');
      expect(plan.action === 'fail' && plan.message).toMatch(expected.fail);
    } else {
      expect(plan.action).toBe('install');
      const p = (plan as { install: InstallPlan }).install;
      expect(p.major).toBe(expected.install);
      expect(p.package).toBe(`postgresql-client-${expected.install}`);
      expect(p.binDir).toBe(`/usr/lib/postgresql/${expected.install}/bin`);
      expect(p.fromNetwork[1]?.[0]).toBe(expected.first[0]);
      const flat = p.indexSetup.map((c) => c.join(' '));
      expect(flat.some((c) => c.includes('apt-get install -y postgresql-common'))).toBe(!expected.pgdg);
    }
  });

  it('names what is installed when it fails', () => {
    const plan = planPgClient({
      tool: 'pg_dump',
      serverMajor: 17,
      request: 'auto',
      installed: [16, 14],
      env: LAPTOP_DEBIAN,
      cacheDir: CACHE,
    });
    expect(plan.action === 'fail' && plan.message).toMatch(
      /^pg_dump 17 or newer is needed \(the server is PostgreSQL 17; pg_dump installed: 14, 16\)\. Install it — .* — or point 'pg-bin-dir' at a directory holding pg_dump 17\. On GitHub's Linux runners the action installs it by itself$/,
    );
  });
});

describe('installPlan', () => {
  it('sets up PGDG, downloads into the cache directory, installs the .deb files and makes them cacheable', () => {
    const p = installPlan(17, GITHUB, CACHE);
    expect(p.cacheKey).toBe('pgdr-pg-client-ubuntu24-20261110.1.0-x64-17');
    expect(p.indexSetup).toEqual([['sudo', PGDG_SCRIPT, '-y']]);
    expect(p.fromNetwork).toEqual([
      ['sudo', 'rm', '-rf', '/tmp/debs'],
      ['mkdir', '-p', '/tmp/debs/partial'],
      [
        'sudo',
        'apt-get',
        'install',
        '-y',
        '--no-install-recommends',
        '--download-only',
        '-o',
        'Dir::Cache::archives=/tmp/debs',
        'postgresql-client-17',
      ],
      ['sudo', 'sh', '-c', 'dpkg -i "$1"/*.deb', 'sh', '/tmp/debs'],
      ['sudo', 'rm', '-rf', '/tmp/debs/partial', '/tmp/debs/lock'],
      ['sudo', 'chmod', '-R', 'a+rX', '/tmp/debs'],
    ]);
    // No glob over a restored directory: only the files apt's index vouched for are appended.
    expect(p.installDebs).toEqual(['sudo', 'dpkg', '-i']);
  });

  it('as root, without sudo; without the PGDG script, installs postgresql-common first', () => {
    const p = installPlan(18, CONTAINER_ROOT, CACHE);
    expect(p.indexSetup).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', 'postgresql-common'],
      [PGDG_SCRIPT, '-y'],
    ]);
    expect([...p.indexSetup, ...p.fromNetwork, p.installDebs].flat()).not.toContain('sudo');
  });
});

describe('parsePgVersion', () => {
  it.each([
    ['', 'auto'],
    ['auto', 'auto'],
    ['AUTO', 'auto'],
    ['17', 17],
    [' 16 ', 16],
  ] as const)('%j → %j', (input, expected) => {
    expect(parsePgVersion(input)).toBe(expected);
  });
  it.each(['17.2', 'latest', '9', '-1', '100'])('%j is refused, naming the input', (input) => {
    expect(() => parsePgVersion(input)).toThrow(/'pg-version' must be 'auto' or a PostgreSQL major version/);
  });
});

describe('resolvePgTool', () => {
  /** A fake "installer" that puts a pg_dump reporting `major` where the plan says. */
  function fakeInstaller(calls: InstallPlan[]) {
    return {
      async install(plan: InstallPlan): Promise<void> {
        calls.push(plan);
        fs.mkdirSync(plan.binDir, { recursive: true });
        const f = path.join(plan.binDir, 'pg_dump');
        fs.writeFileSync(f, `#!/bin/sh\necho "pg_dump (PostgreSQL) ${plan.major}.2"\n`, { mode: 0o755 });
      },
    };
  }

  it('on a GitHub Linux runner, runs the install plan and uses the installed client', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgroot-'));
    const calls: InstallPlan[] = [];
    const tool = await resolvePgTool('pg_dump', 99, {
      request: 'auto',
      installer: fakeInstaller(calls),
      env: GITHUB,
      cacheDir: CACHE,
      installRoot: root,
      log: silentLogger,
    });
    expect(calls.map((c) => c.package)).toEqual(['postgresql-client-99']);
    expect(tool).toEqual({ path: path.join(root, '99', 'bin', 'pg_dump'), version: '99.2', major: 99 });
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('elsewhere, fails with the command to run and installs nothing', async () => {
    const calls: InstallPlan[] = [];
    const err = await resolvePgTool('pg_dump', 99, {
      request: 'auto',
      installer: fakeInstaller(calls),
      env: LAPTOP_DEBIAN,
      cacheDir: CACHE,
      log: silentLogger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/apt-get install -y postgresql-client-99/);
    expect(calls).toEqual([]);
  });

  it('uses the installed client when it is new enough (the real pg_dump here)', async () => {
    const tool = await resolvePgTool('pg_dump', 12, {
      request: 'auto',
      env: LAPTOP_DEBIAN,
      cacheDir: CACHE,
      log: silentLogger,
    });
    expect(tool.major).toBeGreaterThanOrEqual(12);
  });
});

describe('actionsPgClientInstaller (the port, without a cache service)', () => {
  it('runs the index and network steps in order when the cache service is unavailable', async () => {
    const { actionsPgClientInstaller } = await import('../../src/hosts/actions-installer.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pginst-'));
    const log = path.join(dir, 'log');
    const saved = { url: process.env.ACTIONS_CACHE_URL, results: process.env.ACTIONS_RESULTS_URL };
    delete process.env.ACTIONS_CACHE_URL;
    delete process.env.ACTIONS_RESULTS_URL;
    try {
      await actionsPgClientInstaller.install(
        {
          major: 99,
          package: 'postgresql-client-99',
          binDir: path.join(dir, 'bin'),
          cacheKey: 'k',
          cacheDir: path.join(dir, 'debs'),
          indexSetup: [['sh', '-c', `echo index >> ${log}`]],
          installDebs: ['sh', '-c', `echo cache >> ${log}`],
          fromNetwork: [
            ['sh', '-c', `echo one >> ${log}`],
            ['sh', '-c', `echo two >> ${log}`],
          ],
        },
        silentLogger,
      );
    } finally {
      if (saved.url !== undefined) process.env.ACTIONS_CACHE_URL = saved.url;
      if (saved.results !== undefined) process.env.ACTIONS_RESULTS_URL = saved.results;
    }
    expect(fs.readFileSync(log, 'utf8')).toBe('index\none\ntwo\n');
  });

  it('a failing step fails the install', async () => {
    const { actionsPgClientInstaller } = await import('../../src/hosts/actions-installer.js');
    await expect(
      actionsPgClientInstaller.install(
        {
          major: 99,
          package: 'postgresql-client-99',
          binDir: '/nonexistent',
          cacheKey: 'k',
          cacheDir: '/nonexistent',
          indexSetup: [],
          installDebs: [],
          fromNetwork: [['sh', '-c', 'exit 3']],
        },
        silentLogger,
      ),
    ).rejects.toThrow(/exit code 3/);
  });
});
