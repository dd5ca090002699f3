/**
 * The bundled backup action with replica-destination: S3 bucket → a second bucket, and → a local
 * directory; the replica is a backup set of its own that the bundled verify action passes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAction } from '../harness/action.js';
import { createDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { createBucket } from '../harness/s3.js';

const PASSPHRASE = `replica e2e passphrase ${Date.now()}`;

describe('backup action with a replica destination (bundled)', () => {
  let source: string;
  beforeAll(() => {
    source = createDatabase('replica_e2e');
    psql(
      source,
      'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 3000) g;',
    );
  });

  it.each<[string, () => Promise<Record<string, string>>]>([
    [
      'another bucket',
      async () => ({ destination: `s3://${await createBucket(s3Endpoint())}/dr`, 'replica-s3-endpoint': s3Endpoint() }),
    ],
    ['a local directory', async () => ({ destination: fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-replica-e2e-')) })],
  ])('copies to %s; the replica verifies on its own', async (_label, replicaOf) => {
    const bucket = await createBucket(s3Endpoint());
    const replica = await replicaOf();
    const endpoint = replica['replica-s3-endpoint'];
    const run = await runAction('backup', {
      'database-url': pgUrl(source),
      destination: `s3://${bucket}/prod`,
      's3-endpoint': s3Endpoint(),
      name: 'shop',
      'encryption-passphrase': PASSPHRASE,
      'replica-destination': replica.destination as string,
      ...(endpoint ? { 'replica-s3-endpoint': endpoint } : {}),
    });
    expect(run.errors).toEqual([]);
    expect(run.status).toBe(0);
    const key = run.outputs.key as string;
    const replicaKey = run.outputs['replica-key'] as string;
    expect(replicaKey).toBe(key.replace(/^prod\//, (replica.destination as string).startsWith('s3://') ? 'dr/' : ''));
    expect(run.outputs['replica-manifest-key']).toBe(replicaKey.replace(/\.sql\.gz\.gpg$/, '.manifest.json'));
    expect(run.summary).toMatch(/\| Replica \| .*read back, sha256 matches/);

    const verify = await runAction('verify', {
      destination: replica.destination as string,
      ...(endpoint ? { 's3-endpoint': endpoint } : {}),
      name: 'shop',
      'database-url': pgUrl('postgres'),
      'encryption-passphrase': PASSPHRASE,
    });
    expect(verify.errors).toEqual([]);
    expect(verify.outputs.result).toBe('passed');
    expect(verify.outputs['backup-key']).toBe(replicaKey);
  });
});
