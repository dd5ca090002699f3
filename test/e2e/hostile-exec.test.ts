/**
 * The bucket is hostile: what verify and restore do with storage contents they did not write. An
 * unencrypted backup where a key is configured is refused (naming the object) unless allow-unencrypted;
 * a plain dump holding psql meta-commands (\!, \o |cmd, \copy … program) never runs them; child processes
 * see no INPUT_*, AWS_*, GITHUB_TOKEN or ACTIONS_*; a child's stderr cannot issue workflow commands; and
 * neither a failure nor SIGTERM leaves a gpg home, a temporary file or a gpg-agent behind.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ActionRun, runAction } from '../harness/action.js';
import { clientBin, createDatabase, pgUrl, psql } from '../harness/context.js';

const PASSPHRASE = 'hostile storage passphrase 0123';
const INJECTED = ['::add-mask::pgdr-injected', '::stop-commands::pgdr-token'];

function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pgdr-${label}-`));
}

function fakeBin(name: string, script: string): string {
  const dir = tempDir('fakebin');
  fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${script}`, { mode: 0o755 });
  return dir;
}

/** Replaces a plain, unencrypted, uncompressed backup's dump, and fixes its manifest as an attacker would. */
function tamper(dir: string, key: string, edit: (sql: string) => string): void {
  const file = path.join(dir, key);
  const body = Buffer.from(edit(fs.readFileSync(file, 'utf8')));
  fs.writeFileSync(file, body);
  const manifestFile = file.replace(/\.sql$/, '.manifest.json');
  const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  m.object.size = body.length;
  m.object.sha256 = createHash('sha256').update(body).digest('hex');
  m.dump.dumpSize = body.length;
  fs.writeFileSync(manifestFile, JSON.stringify(m, null, 2));
}

/** Lines of the action's stdout that the runner would obey as the injected workflow commands. */
function obeyed(run: ActionRun): string[] {
  return run.stdout.split('\n').filter((l) => INJECTED.some((c) => l.trimStart().startsWith(c)));
}

/** Processes (e.g. a gpg-agent) whose command line mentions `dir`. */
function processesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(dir)) out.push(cmd);
    } catch {
      // gone
    }
  }
  return out;
}

describe('hostile storage (bundled actions)', () => {
  let source: string;
  let plainDir: string;
  let plainKey: string;
  let encDir: string;

  beforeAll(async () => {
    source = createDatabase('hostile');
    psql(source, 'CREATE TABLE t (a int, b text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 50) g;');
    plainDir = tempDir('hplain');
    const plain = await runAction('backup', {
      'database-url': pgUrl(source),
      destination: plainDir,
      name: 'hplain',
      encryption: 'none',
      compression: 'none',
    });
    expect(plain.errors).toEqual([]);
    plainKey = plain.outputs.key as string;
    encDir = tempDir('henc');
    const enc = await runAction('backup', {
      'database-url': pgUrl(source),
      destination: encDir,
      name: 'henc',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(enc.errors).toEqual([]);
  });

  it('verify refuses an unencrypted backup when a passphrase is configured, naming it; allow-unencrypted accepts it', async () => {
    const inputs = { 'database-url': pgUrl('postgres'), destination: plainDir, 'encryption-passphrase': PASSPHRASE };
    const refused = await runAction('verify', inputs);
    expect(refused.outputs.result).toBe('failed');
    expect(refused.errors.join('\n')).toContain(`${plainKey} is not encrypted`);
    expect(refused.errors.join('\n')).toContain('allow-unencrypted');
    const allowed = await runAction('verify', { ...inputs, 'allow-unencrypted': 'true' });
    expect(allowed.errors).toEqual([]);
    expect(allowed.outputs.result).toBe('passed');
  });

  it('restore refuses an unencrypted backup when a passphrase is configured; allow-unencrypted restores it', async () => {
    const target = createDatabase('hostile_target');
    psql(target, 'CREATE TABLE before_restore (x int)');
    const inputs = {
      'database-url': pgUrl(target),
      destination: plainDir,
      confirm: target,
      'pre-restore-backup': 'false',
      'encryption-passphrase': PASSPHRASE,
    };
    const refused = await runAction('restore', inputs);
    expect(refused.status).not.toBe(0);
    expect(refused.errors.join('\n')).toContain(`${plainKey} is not encrypted`);
    expect(psql(target, "SELECT count(*) FROM pg_tables WHERE tablename = 'before_restore'")).toBe('1');
    const allowed = await runAction('restore', { ...inputs, 'allow-unencrypted': 'true' });
    expect(allowed.errors).toEqual([]);
    expect(psql(target, 'SELECT count(*) FROM t')).toBe('50');
  });

  it("restore refuses 'backup: <key>' of another set than 'name', before touching the target", async () => {
    const target = createDatabase('hostile_name');
    psql(target, 'CREATE TABLE before_restore (x int)');
    const run = await runAction('restore', {
      'database-url': pgUrl(target),
      destination: plainDir,
      backup: plainKey,
      name: 'henc',
      confirm: target,
      'pre-restore-backup': 'false',
    });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/belongs to the backup set 'hplain' .*not to 'name: henc'/);
    expect(psql(target, "SELECT count(*) FROM pg_tables WHERE tablename = 'before_restore'")).toBe('1');
  });

  it.each([
    ['\\! touch MARKER', '\\!'],
    ['\\o |touch MARKER', '\\o'],
    ["\\copy (select 1) to program 'touch MARKER'", '\\copy'],
  ])('a plain dump holding %j runs nothing, on verify and restore', async (line, cmd) => {
    const dir = tempDir('hmeta');
    fs.cpSync(plainDir, dir, { recursive: true });
    const marker = path.join(tempDir('hmarker'), 'ran');
    // Without pg_dump's own \restrict pair, as an attacker would write it.
    tamper(dir, plainKey, (sql) =>
      sql
        .replace(/^\\(un)?restrict .*\n/gm, '')
        .replace(/^CREATE TABLE/m, `${line.replace('MARKER', marker)}\nCREATE TABLE`),
    );
    const verify = await runAction('verify', { 'database-url': pgUrl('postgres'), destination: dir });
    expect(fs.existsSync(marker)).toBe(false);
    expect(verify.outputs.result).toBe('failed');
    expect(verify.errors.join('\n')).toContain(`the psql meta-command ${cmd} at line`);
    const target = createDatabase('hostile_meta');
    const restore = await runAction('restore', {
      'database-url': pgUrl(target),
      destination: dir,
      confirm: target,
      'pre-restore-backup': 'false',
    });
    expect(restore.status).not.toBe(0);
    expect(restore.errors.join('\n')).toContain(`the psql meta-command ${cmd} at line`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('child processes get no INPUT_*, AWS_*, GITHUB_TOKEN or ACTIONS_*; PGPASSWORD only the PostgreSQL tools', async () => {
    const envDir = tempDir('henv');
    const wrap = (real: string, tag: string): string =>
      `[ "$1" = "--version" ] && exec "${real}" --version\nenv > "${envDir}/${tag}.$$"\nexec "${real}" "$@"\n`;
    const pgDumpDir = fakeBin('pg_dump', wrap(clientBin('pg_dump'), 'pg_dump'));
    const psqlDir = fakeBin('psql', wrap(clientBin('psql'), 'psql'));
    const gpgDir = fakeBin('gpg', `env > "${envDir}/gpg.$$"\nexec gpg "$@"\n`);
    const env = {
      PGDR_GPG: path.join(gpgDir, 'gpg'),
      GITHUB_TOKEN: 'ghs_not_for_children',
      ACTIONS_RUNTIME_TOKEN: 'not for children',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'not for children',
    };
    const url = pgUrl(source, 'postgres', 'pw-for-libpq');
    const dest = tempDir('henvdest');
    const backup = await runAction(
      'backup',
      { 'database-url': url, destination: dest, 'encryption-passphrase': PASSPHRASE, 'pg-bin-dir': pgDumpDir },
      { env },
    );
    expect(backup.errors).toEqual([]);
    const verify = await runAction(
      'verify',
      {
        'database-url': pgUrl('postgres', 'postgres', 'pw-for-libpq'),
        destination: dest,
        'encryption-passphrase': PASSPHRASE,
        'pg-bin-dir': psqlDir,
      },
      { env },
    );
    expect(verify.outputs.result).toBe('passed');
    const seen = fs.readdirSync(envDir).map((f) => {
      const vars = fs
        .readFileSync(path.join(envDir, f), 'utf8')
        .split('\n')
        .map((l) => l.split('=')[0] as string);
      return { tool: f.split('.')[0] as string, vars };
    });
    expect(new Set(seen.map((s) => s.tool))).toEqual(new Set(['pg_dump', 'psql', 'gpg']));
    for (const s of seen) {
      expect(s.vars.filter((v) => /^(INPUT_|AWS_|ACTIONS_|GITHUB_TOKEN$)/.test(v))).toEqual([]);
      expect(s.vars.includes('PGPASSWORD')).toBe(s.tool !== 'gpg');
      expect(s.vars).toContain('PATH');
    }
  });

  it("a child's stderr cannot issue workflow commands (pg_dump on backup, psql on verify)", async () => {
    const say = `printf '%s\\n' 'pg_dump: error: boom' '${INJECTED.join("' '")}' '  ${INJECTED[0]}' >&2\n`;
    const pgDumpDir = fakeBin(
      'pg_dump',
      `[ "$1" = "--version" ] && exec "${clientBin('pg_dump')}" --version\n${say}exit 1\n`,
    );
    const backup = await runAction('backup', {
      'database-url': pgUrl(source),
      destination: tempDir('hcmd'),
      'encryption-passphrase': PASSPHRASE,
      'pg-bin-dir': pgDumpDir,
    });
    expect(backup.status).not.toBe(0);
    expect(obeyed(backup)).toEqual([]);
    const psqlDir = fakeBin('psql', `[ "$1" = "--version" ] && exec "${clientBin('psql')}" --version\n${say}exit 1\n`);
    const verify = await runAction('verify', {
      'database-url': pgUrl('postgres'),
      destination: encDir,
      'encryption-passphrase': PASSPHRASE,
      'pg-bin-dir': psqlDir,
    });
    expect(verify.outputs.result, verify.errors.join('\n')).toBe('failed');
    expect(verify.stdout).toContain('pgdr-injected'); // printed, as text
    expect(obeyed(verify)).toEqual([]);
  });

  it.each([
    ['psql failing', 'echo "psql: error: simulated failure" >&2\nexit 1\n', undefined],
    ['SIGTERM while psql runs', 'echo pgdr-fake-psql-started >&2\nexec sleep 600\n', /pgdr-fake-psql-started/],
  ])('%s leaves no temporary directory and no gpg-agent behind', async (_case, body, when) => {
    const runnerTemp = tempDir('hrt');
    const listing = path.join(tempDir('hlisting'), 'ls');
    const psqlDir = fakeBin(
      'psql',
      `[ "$1" = "--version" ] && exec "${clientBin('psql')}" --version\nls "${runnerTemp}" > "${listing}"\n${body}`,
    );
    const run = await runAction(
      'verify',
      {
        'database-url': pgUrl('postgres'),
        destination: encDir,
        'encryption-passphrase': PASSPHRASE,
        'pg-bin-dir': psqlDir,
      },
      { env: { RUNNER_TEMP: runnerTemp }, signal: when ? { name: 'SIGTERM', whenStdoutMatches: when } : undefined },
    );
    expect(run.status).not.toBe(0);
    if (when) expect(run.errors.join('\n')).toMatch(/cancelled by SIGTERM/);
    // While psql ran, the gpg home lived in RUNNER_TEMP; afterwards nothing of it is left.
    expect(fs.readFileSync(listing, 'utf8')).toMatch(/^pgdr-gpg-/m);
    expect(fs.readdirSync(runnerTemp).filter((f) => f.startsWith('pgdr-'))).toEqual([]);
    expect(processesUnder(runnerTemp)).toEqual([]);
    fs.rmSync(runnerTemp, { recursive: true, force: true });
  });
});
