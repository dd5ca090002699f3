// The restore side of `npm run bench`: our verify and restore against the raw restores a user would type,
// on one generated database, alternating runs. Wall, user+sys CPU (of the command and the processes it
// waits for: gpg, gunzip, psql, pg_restore; not the server's) and peak RSS from GNU time.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const RAW_PLAIN = 'raw: createdb; gpg -d | gunzip | psql; dropdb';
export const RAW_CUSTOM = 'raw: createdb; gpg -d > file; pg_restore -j 2 file; rm; dropdb';
export const VERIFY_PLAIN = 'pgdr verify, plain gzip';
export const VERIFY_CUSTOM = 'pgdr verify, custom, jobs 2';
export const RESTORE_PLAIN = 'pgdr restore, plain gzip';
export const RESTORE_CUSTOM = 'pgdr restore, custom, jobs 2';

/** `/usr/bin/time` around a command: wall, user+sys CPU (with waited-for children), peak RSS. */
export function timeCmd(label, cmd, args, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', cmd, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [secs, kb, user, sys] = last.split(' ').map(Number);
  if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  let outputs = {};
  try {
    outputs = JSON.parse(r.stdout); // pgdr --json: the command's outputs
  } catch {
    // not a --json run
  }
  return { secs, rssMb: kb / 1024, cpu: user + sys, outputs };
}

/** The 1-minute load average, as a number (the machine is shared: say how busy it was). */
export const load1 = () => os.loadavg()[0];

/**
 * Backs `db` up twice (plain gzip; custom) into `work`, then alternates the restore scenarios `runs` times.
 * Returns { rows: {label: run[]}, loads: number[], tempMb } (tempMb: the staged custom archive's size).
 */
export function restoreSuite({ pg, db, work, cli, env, pgEnv, runs, psql, only = [], log = console.error }) {
  const psqlBin = path.join(pg.binDir, 'psql');
  const pgRestoreBin = path.join(pg.binDir, 'pg_restore');
  const stores = { plain: path.join(work, 'restore-plain'), custom: path.join(work, 'restore-custom') };
  for (const [format, store] of Object.entries(stores)) {
    fs.rmSync(store, { recursive: true, force: true });
    execFileSync(
      process.execPath,
      [cli, 'backup', '--database-url', pg.url(db), '--output', store, '--format', format],
      { env: { ...process.env, ...env }, stdio: 'ignore' },
    );
  }
  const find = (store, pattern) => execFileSync('find', [store, '-name', pattern], { encoding: 'utf8' }).trim();
  const plainFile = find(stores.plain, '*.sql.gz.gpg');
  const customFile = find(stores.custom, '*.gpg');
  const staged = path.join(work, 'raw-custom.dump');
  const gpgD = (file) =>
    `gpg --batch --pinentry-mode loopback --passphrase-fd 3 --decrypt "${file}" 3<<<"$PASS" 2>/dev/null`;
  const sh = (script) => ['bash', ['-c', `set -o pipefail; ${script}`]];
  const q = `"${psqlBin}" -X -q -v ON_ERROR_STOP=1`;
  const verify = (store) => [
    process.execPath,
    [
      cli,
      'verify',
      '--destination',
      store,
      '--name',
      db,
      '--database-url',
      pg.url('postgres'),
      '--jobs',
      '2',
      '--json',
    ],
  ];
  const restore = (store) => [
    process.execPath,
    [
      cli,
      'restore',
      '--destination',
      store,
      '--name',
      db,
      '--database-url',
      pg.url('bench_restored'),
      '--confirm',
      'bench_restored',
      '--pre-restore-backup',
      'false',
      '--jobs',
      '2',
      '--json',
    ],
  ];
  const list = [
    [
      RAW_PLAIN,
      ...sh(
        `${q} -d postgres -c 'CREATE DATABASE bench_raw' && ${gpgD(plainFile)} | gunzip -c | ${q} -d bench_raw >/dev/null && ${q} -d postgres -c 'DROP DATABASE bench_raw'`,
      ),
    ],
    [VERIFY_PLAIN, ...verify(stores.plain)],
    [RESTORE_PLAIN, ...restore(stores.plain)],
    [
      RAW_CUSTOM,
      ...sh(
        `${q} -d postgres -c 'CREATE DATABASE bench_raw' && ${gpgD(customFile)} > "${staged}" && "${pgRestoreBin}" -j 2 -d bench_raw "${staged}" && rm -f "${staged}" && ${q} -d postgres -c 'DROP DATABASE bench_raw'`,
      ),
    ],
    [VERIFY_CUSTOM, ...verify(stores.custom)],
    [RESTORE_CUSTOM, ...restore(stores.custom)],
  ];
  // `only`: label substrings to keep (the raw plain restore always runs: every ratio is to it).
  const chosen = list.filter(([l]) => l === RAW_PLAIN || !only.length || only.some((o) => l.includes(o)));
  const rows = Object.fromEntries(chosen.map(([l]) => [l, []]));
  const loads = [];
  for (let run = 0; run < runs; run++) {
    for (const [label, cmd, args] of chosen) {
      psql('postgres', 'DROP DATABASE IF EXISTS bench_raw');
      psql('postgres', 'DROP DATABASE IF EXISTS bench_restored');
      psql('postgres', 'CHECKPOINT');
      loads.push(load1());
      const r = timeCmd(label, cmd, args, { ...pgEnv, ...env });
      rows[label].push(r);
      log(
        `  run ${run + 1} ${label}: ${r.secs.toFixed(2)}s wall, ${r.cpu.toFixed(1)}s CPU, ${r.rssMb.toFixed(0)} MB RSS, load ${loads.at(-1).toFixed(1)}`,
      );
    }
  }
  psql('postgres', 'DROP DATABASE IF EXISTS bench_raw');
  psql('postgres', 'DROP DATABASE IF EXISTS bench_restored');
  const tempMb = fs.statSync(customFile).size / 1e6;
  return { rows, loads, tempMb };
}

/** The middle value; with an even count, the mean of the two middle ones. */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
const spread = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;

/** Markdown for one size: a table per scenario, ratios to the raw plain restore, verify's own split. */
export function restoreReport(db, mb, { rows, loads, tempMb }) {
  const raw = median(rows[RAW_PLAIN].map((r) => r.secs));
  const rawCpu = median(rows[RAW_PLAIN].map((r) => r.cpu));
  const out = [
    `### ${db}: plain dump ${mb.toFixed(0)} MB (load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} at the start of the runs)`,
    '',
    '| scenario | wall s | spread s | ÷ raw plain restore | user+sys CPU s | peak RSS MB | load s | validate s |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [label, rs] of Object.entries(rows)) {
    const secs = rs.map((r) => r.secs);
    const m = median(secs);
    const out2 = (k) => {
      const v = rs.map((r) => Number(r.outputs[k])).filter((x) => Number.isFinite(x));
      return v.length ? median(v).toFixed(1) : '';
    };
    out.push(
      `| ${label.replaceAll('|', '\\|')} | ${m.toFixed(2)} | ${spread(secs)} | ${(m / raw).toFixed(2)} | ${median(rs.map((r) => r.cpu)).toFixed(1)} (${(median(rs.map((r) => r.cpu)) / rawCpu).toFixed(2)} ×) | ${Math.max(...rs.map((r) => r.rssMb)).toFixed(0)} | ${out2('load-seconds')} | ${out2('validate-seconds')} |`,
    );
  }
  out.push(
    '',
    `Custom format, jobs 2: the staged decrypted archive took ${tempMb.toFixed(0)} MB of temporary disk (checked against the free space first).`,
    '',
  );
  return out;
}
