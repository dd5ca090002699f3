#!/usr/bin/env node
// `npm run demo`: the main job on embedded defaults, in about ten seconds, touching nothing outside /tmp.
// Starts a throwaway PostgreSQL with sample data and a local S3 API server, backs the database up with
// the bundled pgdr CLI (encrypted, to S3), verifies the backup by restoring it into a scratch database,
// restores it with stock tools (gpg | gunzip | psql) into a second database and compares the contents,
// then tears everything down. Runs under Node 24 (npm run puts node_modules/.bin first on PATH).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../test/harness/postgres.ts';
import { createBucket, startS3 } from '../test/harness/s3.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const step = (m) => console.log(`\n\x1b[1m▶ ${m}\x1b[0m`);
const pg = await startPostgres();
const s3 = await startS3();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-demo-'));
let ok = false;
try {
  const psql = (db, sql) =>
    execFileSync(
      path.join(pg.binDir, 'psql'),
      ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', '-d', db],
      {
        input: sql,
        encoding: 'utf8',
      },
    ).trim();
  step(`PostgreSQL ${psql('postgres', 'SHOW server_version')} on port ${pg.port}; S3 API at ${s3.endpoint}`);
  psql('postgres', 'CREATE DATABASE shop');
  psql(
    'shop',
    `CREATE TABLE customers (id serial PRIMARY KEY, name text, email text, since timestamptz);
     CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers, total numeric(10,2), items jsonb, placed_at timestamptz);
     INSERT INTO customers (name, email, since) SELECT 'Customer ' || g, 'c' || g || '@example.com', now() - g * interval '1 day' FROM generate_series(1, 2000) g;
     INSERT INTO orders (customer_id, total, items, placed_at)
       SELECT 1 + g % 2000, (g % 500) + 0.99, jsonb_build_array(jsonb_build_object('sku', 'SKU-' || g % 97, 'qty', 1 + g % 3)), now() - g * interval '1 minute'
       FROM generate_series(1, 100000) g;`,
  );
  console.log(
    `sample database "shop": ${psql('shop', 'SELECT count(*) FROM customers')} customers, ${psql('shop', 'SELECT count(*) FROM orders')} orders`,
  );
  const bucket = await createBucket(s3.endpoint, 'demo');
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    PGDR_ENCRYPTION_PASSPHRASE: 'demo passphrase, use a long random one',
    PGDR_DATABASE_URL: pg.url('shop'),
  };
  const destination = ['--destination', `s3://${bucket}/backups`, '--s3-endpoint', s3.endpoint];
  const pgdr = (args) => {
    console.log(`$ pgdr ${args.join(' ')}`);
    const r = spawnSync(process.execPath, [path.join(root, 'dist/cli/index.js'), ...args], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    });
    process.stdout.write(r.stdout);
    if (r.status !== 0) throw new Error(`pgdr ${args[0]} failed (exit ${r.status})`);
    return r.stdout;
  };

  step('Back up: pg_dump → gzip → gpg (AES-256) → S3, verified, manifest written last');
  pgdr(['backup', ...destination]);
  const keys = execFileSync('find', [path.join(s3.directory, bucket), '-name', '*._S3rver_object'], {
    encoding: 'utf8',
  });
  const dataKey = keys
    .split('\n')
    .map((f) => path.relative(path.join(s3.directory, bucket), f).replace(/\._S3rver_object$/, ''))
    .find((k) => k.endsWith('.sql.gz.gpg'));
  if (!dataKey) throw new Error('no backup object found in the bucket');

  const commands = fs
    .readdirSync(path.join(root, 'dist'))
    .filter((d) => fs.existsSync(path.join(root, 'dist', d, 'index.js')));
  if (commands.includes('verify')) {
    step('Verify: restore the newest backup into a scratch database and check every table against the manifest');
    pgdr(['verify', ...destination, '--backup', 'latest', '--name', 'shop', '--database-url', pg.url('postgres')]);
  }

  step('Restore with stock tools only: gpg --decrypt | gunzip | psql, into a new database');
  const file = path.join(work, path.basename(dataKey));
  fs.copyFileSync(path.join(s3.directory, bucket, `${dataKey}._S3rver_object`), file);
  psql('postgres', 'CREATE DATABASE shop_restored');
  execFileSync(
    'bash',
    [
      '-c',
      `set -o pipefail; gpg --batch --quiet --pinentry-mode loopback --passphrase-fd 3 --decrypt "${file}" 3<<<"$PGDR_ENCRYPTION_PASSPHRASE" | gunzip -c | "${path.join(pg.binDir, 'psql')}" -X -q -h ${pg.host} -p ${pg.port} -U postgres -d shop_restored >/dev/null`,
    ],
    { env: { ...env, GNUPGHOME: work }, stdio: 'inherit' },
  );
  const digest = (db) =>
    ['customers', 'orders'].map((t) =>
      psql(db, `SELECT count(*) || ' rows, md5 ' || md5(string_agg(r::text, '|' ORDER BY r::text)) FROM ${t} r`),
    );
  const [a, b] = [digest('shop'), digest('shop_restored')];
  console.log(`original: customers ${a[0]}; orders ${a[1]}`);
  console.log(`restored: customers ${b[0]}; orders ${b[1]}`);
  if (a.join() !== b.join()) throw new Error('the restored database differs from the original');
  step('The restored database matches the original, row for row.');
  ok = true;
} catch (err) {
  console.error(`\ndemo failed: ${err.message}`);
} finally {
  pg.stop();
  await s3.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
