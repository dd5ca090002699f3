// The bench data set, shared by the benches: the same realistic mix as bench/run.mjs generates (wide text
// rows, numeric, jsonb, bytea, timestamps, indexes), about `mb` MB of plain dump.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

/** psql against `pg` (a test/harness/postgres.ts server) as its superuser; returns the trimmed output. */
export function psqlOf(pg) {
  const bin = path.join(pg.binDir, 'psql');
  return (db, sql) =>
    execFileSync(
      bin,
      ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', '-d', db],
      { input: sql, encoding: 'utf8' },
    ).trim();
}

export function generate(psql, db, mb) {
  psql('postgres', `CREATE DATABASE ${db}`);
  psql(
    db,
    `CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text, address text, balance numeric(14,2), created timestamptz);
     CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, status text, total numeric(12,2), lines jsonb, note text, placed_at timestamptz);
     CREATE TABLE attachments (id bigint PRIMARY KEY, order_id bigint, mime text, content bytea);
     CREATE INDEX ON orders (customer_id); CREATE INDEX ON orders (placed_at);`,
  );
  // Per "unit": ~1 customer (≈150 B), 10 orders (≈700 B each), 1 attachment (≈1.1 KB hex in a plain dump).
  const units = Math.round((mb * 1024 * 1024) / 5000);
  const chunk = 20000;
  for (let start = 0; start < units; start += chunk) {
    const end = Math.min(units, start + chunk) - 1;
    psql(
      db,
      `INSERT INTO customers SELECT g, 'Customer ' || g, 'c' || g || '@example.com', g || ' Long Street, Some City ' || md5(g::text), (g % 100000) / 100.0, timestamptz '2020-01-01' + g * interval '1 minute' FROM generate_series(${start}, ${end}) g;
       INSERT INTO orders SELECT g, g / 10, (ARRAY['new','paid','shipped','returned'])[1 + g % 4], (g % 99999) / 100.0,
         jsonb_build_array(jsonb_build_object('sku', 'SKU-' || (g % 997), 'qty', 1 + g % 5, 'price', (g % 5000) / 100.0), jsonb_build_object('sku', 'SKU-' || (g % 991), 'qty', 1, 'desc', md5(g::text))),
         repeat(md5((g * 7)::text) || ' ', 1 + g % 12), timestamptz '2021-01-01' + g * interval '7 seconds'
         FROM generate_series(${start * 10}, ${end * 10 + 9}) g;
       INSERT INTO attachments SELECT g, g * 10, 'application/pdf', decode(repeat(md5(g::text) || md5((g+1)::text), 8) || md5(random()::text), 'hex') FROM generate_series(${start}, ${end}) g;`,
    );
  }
  psql(db, 'VACUUM ANALYZE');
}

/**
 * A throwaway OpenPGP signing key made in the GnuPG home `gnupg` (its agent stopped afterwards): a backup
 * without encryption must be signed, its manifest authenticated.
 */
export function benchSigningKey(gnupg) {
  const gpg = (...args) =>
    execFileSync('gpg', ['--homedir', gnupg, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  gpg('--quick-gen-key', 'bench <bench@example.com>', 'future-default', 'default', 'never');
  const key = gpg('--armor', '--export-secret-keys', 'bench@example.com');
  spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'gpg-agent']);
  return key;
}
