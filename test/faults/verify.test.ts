/**
 * The bundled verify action reading a backup through the fault proxy: a download cut short is resumed
 * (and the restore is checked as usual), a download that keeps being cut fails the run. Never a pass on
 * bytes that were not all read.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAction } from '../harness/action.js';
import { createDatabase, databasesLike, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { addLargeTable } from '../harness/fixtures.js';
import { createBucket } from '../harness/s3.js';

const PASSPHRASE = `faults verify ${Date.now()}`;
let proxy: FaultProxy;
let bucket: string;
let dataKey: string;
let size: number;

function verify(): ReturnType<typeof runAction> {
  return runAction('verify', {
    destination: `s3://${bucket}/backups`,
    's3-endpoint': proxy.url,
    's3-force-path-style': 'true',
    name: 'vfault',
    'database-url': pgUrl('postgres'),
    'encryption-passphrase': PASSPHRASE,
  });
}

const dataGets = () => proxy.of('GetObject', /\.sql\.gz\.gpg$/);

beforeAll(async () => {
  proxy = await startFaultProxy(s3Endpoint());
  const db = createDatabase('faults_verify');
  psql(
    db,
    'CREATE TABLE small (id int PRIMARY KEY, v text); INSERT INTO small SELECT g, md5(g::text) FROM generate_series(1, 1000) g;',
  );
  addLargeTable(db, 8);
  bucket = await createBucket(s3Endpoint(), 'faults-verify');
  const run = await runAction('backup', {
    'database-url': pgUrl(db),
    destination: `s3://${bucket}/backups`,
    's3-endpoint': s3Endpoint(),
    name: 'vfault',
    'encryption-passphrase': PASSPHRASE,
  });
  expect(run.errors).toEqual([]);
  dataKey = run.outputs.key as string;
  size = Number(run.outputs.size);
  // Large enough that six reads of 50 kB cannot cover it.
  expect(size).toBeGreaterThan(400_000);
});
afterAll(async () => {
  await proxy.stop();
});
beforeEach(() => {
  proxy.reset();
});

describe('verify through a faulty S3 endpoint', () => {
  it('a download cut short once is resumed from where it stopped, and the backup passes', async () => {
    proxy.add({
      match: { op: 'GetObject', path: /\.sql\.gz\.gpg$/ },
      action: { kind: 'truncate', afterBytes: 200_000 },
    });
    const run = await verify();
    expect(run.errors).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.outputs.result).toBe('passed');
    expect(run.outputs['backup-key']).toBe(dataKey);
    expect(run.outputs.mismatches).toBe('0');
    expect(dataGets().map((g) => [g.fault ?? 'ok', g.range ?? 'whole'])).toEqual([
      ['truncate', 'whole'],
      ['ok', 'bytes=200000-'],
    ]);
  });

  it('a download that is cut every time fails the run; it never passes', async () => {
    proxy.add({
      match: { op: 'GetObject', path: /\.sql\.gz\.gpg$/ },
      when: 'always',
      action: { kind: 'truncate', afterBytes: 50_000 },
    });
    const run = await verify();
    expect(run.status).toBe(1);
    expect(run.outputs.result).not.toBe('passed');
    expect(run.errors.join('\n')).toMatch(/failed at byte 300000 of \d+ after 5 resumed read/);
    // Every read gave up after its bounded resumes (the restore's, then the diagnosis's).
    expect(dataGets().length).toBeGreaterThanOrEqual(6);
    expect(databasesLike('pgdr_verify_vfault_')).toEqual([]);
  });
});
