#!/usr/bin/env node
// `npm run bench [-- --size 1GB --runs 3]`: postgres-dr against the shell pipeline a user would write
// instead, on the same data in the same run, alternating runs; median and spread; peak RSS from
// /usr/bin/time. Writes bench/results/<date>.md and prints it. Needs the prerequisites of `npm test`.
// `--size` takes several sizes (`--size 1GB,3GB,10GB`, each a plain-dump size; 10GB is opt-in: it needs
// ~4× the size in free disk and about an hour); `--suite restore` runs only the restore side
// (bench/restore-suite.mjs) and writes bench/results/<date>-restore.md; `--restore-only "verify, plain;verify, custom"`
// keeps the scenarios whose labels contain one of the `;`-separated strings (the raw plain restore always runs).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPostgres } from '../test/harness/postgres.ts';
import { createBucket, startS3 } from '../test/harness/s3.ts';
import { benchSigningKey, generate } from './generate.mjs';
import { RAW_PLAIN, restoreReport, restoreSuite } from './restore-suite.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '1024' },
    size: { type: 'string', default: '' },
    suite: { type: 'string', default: 'all' },
    'small-mb': { type: 'string', default: '100' },
    runs: { type: 'string', default: '3' },
    only: { type: 'string', default: '' },
    'restore-only': { type: 'string', default: '' },
  },
});
/** "10GB", "500MB", "1.5GB" → MB (binary: 1GB = 1024 MB, as --size-mb). */
function sizeMb(text) {
  const m = /^(\d+(?:\.\d+)?)\s*(MB|GB|TB)?$/i.exec(text.trim());
  if (!m) throw new Error(`--size: '${text}' is not a size like 1GB or 500MB`);
  return Number(m[1]) * { MB: 1, GB: 1024, TB: 1024 * 1024 }[(m[2] ?? 'MB').toUpperCase()];
}
const SIZES = opts.size ? opts.size.split(',').map(sizeMb) : [Number(opts['small-mb']), Number(opts['size-mb'])];
const SUITE = opts.suite;
if (!['all', 'backup', 'restore'].includes(SUITE)) throw new Error(`--suite: all, backup or restore (got ${SUITE})`);
// Generated database + plain and custom backups + a staged custom archive + a restored copy: ~4× the dump.
const needMb = 4 * Math.max(...SIZES);
const freeMb = (fs.statfsSync(os.tmpdir()).bavail * fs.statfsSync(os.tmpdir()).bsize) / 2 ** 20;
if (freeMb < needMb) {
  throw new Error(
    `--size ${Math.max(...SIZES)} MB needs about ${needMb.toFixed(0)} MB free in ${os.tmpdir()} and the server's data directory; ${freeMb.toFixed(0)} MB are free`,
  );
}
// `--runs 3,1`: runs per size (the last repeats), so a large size can run fewer rounds.
const RUNS_BY_SIZE = opts.runs.split(',').map(Number);
const runsFor = (i) => RUNS_BY_SIZE[Math.min(i, RUNS_BY_SIZE.length - 1)];
const PASS = 'bench passphrase 0123456789';

const pg = await startPostgres({
  settings: { shared_buffers: "'256MB'", max_wal_size: "'4GB'", checkpoint_timeout: "'30min'" },
});
const s3 = await startS3();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-bench-'));
// The runner's files that the action scenario writes its outputs and summary to.
for (const f of ['gh-output', 'gh-summary']) fs.writeFileSync(path.join(work, f), '');
const psqlBin = path.join(pg.binDir, 'psql');
const pgDumpBin = path.join(pg.binDir, 'pg_dump');
const psql = (db, sql) =>
  execFileSync(
    psqlBin,
    ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', '-d', db],
    { input: sql, encoding: 'utf8', env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' } },
  ).trim();

function timeCmd(label, cmd, args, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [secs, kb] = last.split(' ').map(Number);
  if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  let outputs = {};
  try {
    outputs = JSON.parse(r.stdout); // pgdr --json: the command's outputs
  } catch {
    // not a --json run
  }
  return { secs, rssMb: kb / 1024, outputs };
}

const env = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  PGDR_ENCRYPTION_PASSPHRASE: PASS,
};
const gnupg = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-bench-gpg-'));
const pgEnv = { PGHOST: pg.host, PGPORT: String(pg.port), PGUSER: 'postgres', GNUPGHOME: gnupg, PASS };
const cli = path.join(root, 'dist/cli/index.js');
const unsigned = { PGDR_ENCRYPTION_PASSPHRASE: '', PGDR_SIGNING_KEY: benchSigningKey(gnupg) };
const hasZstd = spawnSync('zstd', ['--version']).status === 0;

function scenarios(db, bucket) {
  const out = path.join(work, 'out');
  const shell = (pipeline) => ['bash', ['-c', `set -o pipefail; ${pipeline}`]];
  const list = [
    ['pg_dump > /dev/null (floor)', ...shell(`"${pgDumpBin}" -d ${db} > /dev/null`)],
    [
      'shell: pg_dump | gzip -6 | gpg > file',
      ...shell(
        `"${pgDumpBin}" -d ${db} | gzip -6 | gpg --batch --pinentry-mode loopback --passphrase-fd 3 --symmetric --cipher-algo AES256 --compress-algo none -o - 3<<<"$PASS" > ${work}/shell.gz.gpg`,
      ),
    ],
    [
      'pgdr backup gzip -6 → local dir',
      process.execPath,
      [cli, 'backup', '--database-url', pg.url(db), '--output', out, '--compression-level', '6'],
    ],
    [
      'pgdr backup gzip -6, table-checksums false → local dir',
      process.execPath,
      [cli, 'backup', '--database-url', pg.url(db), '--output', out, '--table-checksums', 'false'],
    ],
    [
      'pgdr backup gzip -6 → S3 (s3rver)',
      process.execPath,
      [cli, 'backup', '--database-url', pg.url(db), '--destination', `s3://${bucket}/b`, '--s3-endpoint', s3.endpoint],
    ],
    [
      'backup action (dist/backup, as the runner runs it) gzip -6 → S3',
      process.execPath,
      [path.join(root, 'dist/backup/index.js')],
      {
        'INPUT_DATABASE-URL': pg.url(db),
        INPUT_DESTINATION: `s3://${bucket}/a`,
        'INPUT_S3-ENDPOINT': s3.endpoint,
        'INPUT_ENCRYPTION-PASSPHRASE': PASS,
        GITHUB_ACTIONS: 'true',
        GITHUB_OUTPUT: path.join(work, 'gh-output'),
        GITHUB_STEP_SUMMARY: path.join(work, 'gh-summary'),
      },
    ],
    [
      'pgdr backup none, no encryption → local dir',
      process.execPath,
      [cli, 'backup', '--database-url', pg.url(db), '--output', out, '--compression', 'none', '--encryption', 'none'],
      unsigned,
    ],
    [
      'pgdr backup none, no encryption, table-checksums false, verify-upload false → local dir',
      process.execPath,
      [
        cli,
        'backup',
        '--database-url',
        pg.url(db),
        '--output',
        out,
        '--compression',
        'none',
        '--encryption',
        'none',
        '--table-checksums',
        'false',
        '--verify-upload',
        'false',
      ],
      unsigned,
    ],
  ];
  if (hasZstd) {
    list.splice(2, 0, [
      'shell: pg_dump | zstd -3 | gpg > file',
      ...shell(
        `"${pgDumpBin}" -d ${db} | zstd -3 -q -c | gpg --batch --pinentry-mode loopback --passphrase-fd 3 --symmetric --cipher-algo AES256 --compress-algo none -o - 3<<<"$PASS" > ${work}/shell.zst.gpg`,
      ),
    ]);
    list.push([
      'pgdr backup zstd -3 → local dir',
      process.execPath,
      [cli, 'backup', '--database-url', pg.url(db), '--output', out, '--compression', 'zstd'],
    ]);
  }
  return list.filter(([label]) => !opts.only || label.includes(opts.only));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;

const report = [];
const results = {};
try {
  for (const [i, mb] of SIZES.entries()) {
    const db = SIZES.length === 2 && !opts.size ? ['bench_small', 'bench_large'][i] : `bench_${Math.round(mb)}mb`;
    const t0 = Date.now();
    generate(psql, db, mb);
    const dumpBytes = Number(
      execFileSync('bash', ['-c', `"${pgDumpBin}" -d ${db} | wc -c`], { env: { ...process.env, ...pgEnv } }).toString(),
    );
    console.error(
      `${db}: generated in ${((Date.now() - t0) / 1000).toFixed(0)}s, plain dump ${(dumpBytes / 1e6).toFixed(0)} MB, on disk ${psql(db, `SELECT pg_size_pretty(pg_database_size('${db}'))`)}`,
    );
    const bucket = await createBucket(s3.endpoint, 'bench');
    const list = SUITE === 'restore' ? [] : scenarios(db, bucket);
    const rows = Object.fromEntries(list.map(([l]) => [l, []]));
    for (let run = 0; run < runsFor(i); run++) {
      for (const [label, cmd, args, extra] of list) {
        fs.rmSync(path.join(work, 'out'), { recursive: true, force: true });
        // Each run starts from a clean server: no run pays for the dirty buffers of the one before.
        psql('postgres', 'CHECKPOINT');
        const r = timeCmd(label, cmd, args, { ...pgEnv, ...env, ...(extra ?? {}) });
        rows[label].push(r);
        console.error(`  run ${run + 1} ${label}: ${r.secs.toFixed(2)}s, ${r.rssMb.toFixed(0)} MB RSS`);
      }
    }
    // Restore side: our verify and restore (plain; custom with jobs 2) against the raw restores a user would
    // type, into an empty database that is dropped again (bench/restore-suite.mjs).
    const restore =
      SUITE === 'backup'
        ? undefined
        : restoreSuite({
            pg,
            db,
            work,
            cli,
            env,
            pgEnv,
            runs: runsFor(i),
            psql,
            only: opts['restore-only'] ? opts['restore-only'].split(';') : [],
          });
    psql('postgres', `DROP DATABASE ${db}`); // the next size needs the disk
    results[db] = { mb: dumpBytes / 1e6, rows, restore };
  }
  const floorLabel = 'pg_dump > /dev/null (floor)';
  const shellLabel = 'shell: pg_dump | gzip -6 | gpg > file';
  report.push(`# postgres-dr benchmark — ${new Date().toISOString().slice(0, 10)}`, '');
  report.push(
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; PostgreSQL ${psql('postgres', 'SHOW server_version')}; ${RUNS_BY_SIZE.join('/')} alternating runs per scenario; median (min–max).`,
    '',
  );
  for (const [db, { mb, rows }] of Object.entries(results)) {
    if (SUITE === 'restore') break;
    report.push(
      `## ${db}: plain dump ${mb.toFixed(0)} MB`,
      '',
      '| scenario | wall s | spread s | MB/s of dump | peak RSS MB (main process) | ÷ shell gzip pipeline | ÷ pg_dump floor |',
      '|---|---|---|---|---|---|---|',
    );
    const shell = median(rows[shellLabel]?.map((r) => r.secs) ?? [NaN]);
    const floor = median(rows[floorLabel]?.map((r) => r.secs) ?? [NaN]);
    for (const [label, rs] of Object.entries(rows)) {
      const secs = rs.map((r) => r.secs);
      const m = median(secs);
      report.push(
        `| ${label.replaceAll('|', '\\|')} | ${m.toFixed(2)} | ${spread(secs)} | ${(mb / m).toFixed(0)} | ${Math.max(...rs.map((r) => r.rssMb)).toFixed(0)} | ${(m / shell).toFixed(2)} | ${(m / floor).toFixed(2)} |`,
      );
    }
    report.push('');
  }
  if (SUITE !== 'backup') {
    report.push(
      '## Restore side',
      '',
      `Each row: the median of the alternating runs (${SIZES.map((_, i) => runsFor(i)).join(', ')} per size); ÷ raw plain restore is wall time against \`${RAW_PLAIN}\`. CPU is user+sys of the command and the processes it waits for (gpg, gunzip, psql, pg_restore), not the server's; "load s" / "validate s" are verify's own load-seconds / validate-seconds outputs (validate includes the contents check). Peak RSS: the largest single process (GNU time).`,
      '',
    );
    for (const [db, { mb, restore }] of Object.entries(results)) report.push(...restoreReport(db, mb, restore));
  }
  report.push(
    'Peak RSS of the shell scenarios is that of the largest single process in the pipeline (GNU time reports the maximum over children). Our rows are the Node process alone; gpg adds ~5 MB and pg_dump ~10 MB beside it.',
  );
  const text = report.join('\n');
  const file = path.join(
    root,
    'bench/results',
    `${new Date().toISOString().slice(0, 10)}${SUITE === 'restore' ? '-restore' : ''}.md`,
  );
  fs.writeFileSync(file, `${text}\n`);
  // Formatted as the linter wants it (aligned tables), so a results file never fails `npm run lint`.
  execFileSync(path.join(root, 'node_modules/.bin/biome'), ['format', '--write', file], { stdio: 'ignore' });
  console.log(text);
  console.error(`\nwritten to ${path.relative(root, file)}`);
} finally {
  pg.stop();
  await s3.stop();
  fs.rmSync(work, { recursive: true, force: true });
  spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'gpg-agent']);
  fs.rmSync(gnupg, { recursive: true, force: true });
}
