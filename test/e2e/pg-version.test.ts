/**
 * pg-version on the bundled backup action, where no client can be installed (not a GitHub Linux
 * runner): a pg_dump older than asked for fails before any upload, naming the commands to run. The
 * install path itself runs in the e2e-newer-server job of .github/workflows/ci.yml (a postgres:17
 * service on ubuntu-24.04, whose preinstalled client is 16).
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { runAction } from '../harness/action.js';
import { createDatabase, databasesLike, pgUrl, s3Endpoint } from '../harness/context.js';
import { createBucket, testS3Client } from '../harness/s3.js';

describe('pg-version (bundled backup action)', () => {
  it('asks for a client major that is not installed: fails before any upload with the commands to run', async () => {
    const db = createDatabase('pgver');
    const bucket = await createBucket(s3Endpoint());
    const run = await runAction(
      'backup',
      {
        'database-url': pgUrl(db),
        destination: `s3://${bucket}/prod`,
        's3-endpoint': s3Endpoint(),
        'encryption-passphrase': 'pg version test passphrase',
        'pg-version': '98',
      },
      { env: { RUNNER_OS: undefined } },
    );
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(
      /pg_dump 98 or newer is needed \('pg-version: 98'; pg_dump installed: [\d, ]+\)\. Install it — .*apt-get install -y postgresql-client-98 — or point 'pg-bin-dir' at a directory holding pg_dump 98/,
    );
    const listed = await testS3Client(s3Endpoint()).send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(listed.Contents ?? []).toEqual([]);
  });

  it('pg-version older than the server is refused', async () => {
    const db = createDatabase('pgver');
    const run = await runAction('backup', {
      'database-url': pgUrl(db),
      destination: `/tmp/pgdr-pgver-${process.pid}`,
      'encryption-passphrase': 'pg version test passphrase',
      'pg-version': '10',
    });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/'pg-version: 10' is older than the server \(PostgreSQL \d+\)/);
  });

  it('verify asks for a psql major that is not installed: fails before restoring, and drops its scratch database', async () => {
    const db = createDatabase('pgver');
    const dir = `/tmp/pgdr-pgver-verify-${process.pid}`;
    const backup = await runAction('backup', {
      'database-url': pgUrl(db),
      destination: dir,
      'encryption-passphrase': 'pg version test passphrase',
    });
    expect(backup.errors).toEqual([]);
    const run = await runAction(
      'verify',
      {
        destination: dir,
        name: db,
        'database-url': pgUrl('postgres'),
        'encryption-passphrase': 'pg version test passphrase',
        'pg-version': '98',
      },
      { env: { RUNNER_OS: undefined } },
    );
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/psql 98 or newer is needed .*postgresql-client-98/);
    expect(databasesLike(`pgdr_verify_${db}`)).toEqual([]);
  });
});
