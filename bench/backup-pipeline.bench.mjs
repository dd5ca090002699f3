#!/usr/bin/env node
// The backup side against the shell pipelines a user compares it with, on the same data, alternating runs:
//   node bench/backup-pipeline.bench.mjs [--size-mb 1024] [--runs 3] [--baseline-cli PATH]
// Scenarios: `pg_dump | zstd -3 | gpg -c > file` vs `pgdr backup --compression zstd` (OpenPGP, local
// directory); `pg_dump > file && sync` vs `pgdr backup --compression none --encryption none` (signing key);
// pgdr to S3 (s3rver), with the tail from the end of the dump to the manifest write (pgdr's own log line).
// Table checksums and read-back stay on everywhere. Reports medians of wall time AND user+sys CPU time
// (GNU time: the process and the children it waited for: pg_dump, gpg, zstd; not the PostgreSQL backend,
// the same for every scenario) and peak RSS, plus the load average, since the machine may be shared.
// --baseline-cli runs another build's dist/cli/index.js beside this one (e.g. main's, for before/after).
// Writes bench/results/<date>-backup.md. Needs the prerequisites of `npm test` and the `zstd` command.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startPostgres } from '../test/harness/postgres.ts';
import { createBucket, startS3 } from '../test/harness/s3.ts';
import { benchSigningKey, generate, psqlOf } from './generate.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    'baseline-cli': { type: 'string', default: '' },
    only: { type: 'string', default: '' },
  },
});
const RUNS = Number(opts.runs);
const PASS = 'bench passphrase 0123456789';
const cli = path.join(root, 'dist/cli/index.js');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-bbench-'));
const gnupg = path.join(work, 'gnupg');
fs.mkdirSync(gnupg, { mode: 0o700 });
const pg = await startPostgres({
  settings: { shared_buffers: "'256MB'", max_wal_size: "'4GB'", checkpoint_timeout: "'30min'" },
});
const s3 = await startS3();

function timeCmd(label, cmd, args, env) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [secs, user, sys, kb] = last.split(' ').map(Number);
  if (r.status !== 0) throw new Error(`${label} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const tail = /(\d+(?:\.\d+)?)s after the dump ended/.exec(`${r.stdout}\n${r.stderr}`);
  return { secs, cpu: user + sys, rssMb: kb / 1024, tail: tail ? Number(tail[1]) : null };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = () => os.loadavg()[0];
const report = [];
try {
  const psql = psqlOf(pg);
  const db = 'bench_backup';
  const t0 = Date.now();
  generate(psql, db, Number(opts['size-mb']));
  const pgDump = path.join(pg.binDir, 'pg_dump');
  const dumpBytes = Number(
    execFileSync('bash', ['-c', `"${pgDump}" -d "${pg.url(db)}" | wc -c`], { encoding: 'utf8' }).trim(),
  );
  console.error(
    `generated in ${((Date.now() - t0) / 1000).toFixed(0)}s: plain dump ${(dumpBytes / 1e6).toFixed(0)} MB`,
  );
  const bucket = await createBucket(s3.endpoint, 'bench');
  const out = path.join(work, 'out');
  const env = {
    GNUPGHOME: gnupg,
    PASS,
    PGDR_ENCRYPTION_PASSPHRASE: PASS,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
  };
  const unsigned = { PGDR_ENCRYPTION_PASSPHRASE: '', PGDR_SIGNING_KEY: benchSigningKey(gnupg) };
  const shell = (p) => ['bash', ['-c', `set -o pipefail; ${p}`]];
  const gpgC = `gpg --batch --pinentry-mode loopback --passphrase-fd 3 --symmetric --cipher-algo AES256 --compress-algo none -o - 3<<<"$PASS"`;
  const clis = [['pgdr', cli]];
  if (opts['baseline-cli']) clis.push(['baseline pgdr', path.resolve(opts['baseline-cli'])]);
  const url = pg.url(db);
  const list = [
    [
      'shell: pg_dump | zstd -3 | gpg -c > file',
      ...shell(`"${pgDump}" -d "${url}" | zstd -3 -q -c | ${gpgC} > ${out}/s.zst.gpg`),
    ],
    ...clis.map(([who, c]) => [
      `${who} backup zstd -3, OpenPGP → local dir`,
      process.execPath,
      [c, 'backup', '--database-url', url, '--output', out, '--compression', 'zstd'],
    ]),
    ['shell: pg_dump > file && sync', ...shell(`"${pgDump}" -d "${url}" > ${out}/s.sql && sync`)],
    ...clis.map(([who, c]) => [
      `${who} backup none, no encryption (signed) → local dir`,
      process.execPath,
      [c, 'backup', '--database-url', url, '--output', out, '--compression', 'none', '--encryption', 'none'],
      unsigned,
    ]),
    ...clis.map(([who, c]) => [
      `${who} backup gzip -6, OpenPGP → S3 (s3rver)`,
      process.execPath,
      [c, 'backup', '--database-url', url, '--destination', `s3://${bucket}/g`, '--s3-endpoint', s3.endpoint],
    ]),
    ...clis.map(([who, c]) => [
      `${who} backup zstd -3, OpenPGP → S3 (s3rver)`,
      process.execPath,
      [
        c,
        'backup',
        '--database-url',
        url,
        '--destination',
        `s3://${bucket}/z`,
        '--s3-endpoint',
        s3.endpoint,
        '--compression',
        'zstd',
      ],
    ]),
  ].filter(([label]) => !opts.only || label.includes(opts.only));
  const rows = Object.fromEntries(list.map(([l]) => [l, []]));
  const loads = [];
  for (let run = 0; run < RUNS; run++) {
    for (const [label, cmd, args, extra] of list) {
      fs.rmSync(out, { recursive: true, force: true });
      fs.mkdirSync(out);
      psql('postgres', 'CHECKPOINT');
      loads.push(load());
      const r = timeCmd(label, cmd, args, { ...env, ...(extra ?? {}) });
      rows[label].push(r);
      console.error(
        `  run ${run + 1} ${label}: ${r.secs.toFixed(2)} s wall, ${r.cpu.toFixed(2)} s CPU, ${r.rssMb.toFixed(0)} MB, load ${loads.at(-1).toFixed(1)}${r.tail === null ? '' : `, tail ${r.tail} s`}`,
      );
    }
  }
  const m = (label, k) => median(rows[label]?.map((r) => r[k]) ?? [Number.NaN]);
  report.push(
    `# postgres-dr backup pipeline — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}; Node ${process.version}; ${(dumpBytes / 1e6).toFixed(0)} MB plain dump (bench/generate.mjs); ${RUNS} alternating runs, medians; load average during the runs ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (median ${median(loads).toFixed(1)}).`,
    'CPU = user + sys of the process and the children it waited for (pg_dump, gpg, zstd), not the PostgreSQL backend. Table checksums and read-back on in every pgdr row.',
    '',
    '| scenario | wall s | CPU s | peak RSS MB | tail after the dump s |',
    '|---|---|---|---|---|',
  );
  for (const label of Object.keys(rows)) {
    const tail = m(label, 'tail');
    report.push(
      `| ${label.replaceAll('|', '\\|')} | ${m(label, 'secs').toFixed(2)} | ${m(label, 'cpu').toFixed(2)} | ${Math.max(...rows[label].map((r) => r.rssMb)).toFixed(0)} | ${Number.isFinite(tail) ? tail.toFixed(1) : ''} |`,
    );
  }
  const ratio = (a, b, k) => (m(a, k) / m(b, k)).toFixed(2);
  report.push('', 'Ratios (medians):', '');
  for (const [who] of clis) {
    const pairs = [
      [`${who} backup zstd -3, OpenPGP → local dir`, 'shell: pg_dump | zstd -3 | gpg -c > file'],
      [`${who} backup none, no encryption (signed) → local dir`, 'shell: pg_dump > file && sync'],
    ];
    for (const [a, b] of pairs) {
      if (rows[a] && rows[b]) report.push(`- ${a} ÷ ${b}: wall ${ratio(a, b, 'secs')}, CPU ${ratio(a, b, 'cpu')}`);
    }
  }
  const text = report.join('\n');
  const file = path.join(root, 'bench/results', `${new Date().toISOString().slice(0, 10)}-backup.md`);
  fs.writeFileSync(file, `${text}\n`);
  execFileSync(path.join(root, 'node_modules/.bin/biome'), ['format', '--write', file], { stdio: 'ignore' });
  console.log(text);
  console.error(`\nwritten to ${path.relative(root, file)}`);
} finally {
  pg.stop();
  await s3.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
