import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, psql, s3Endpoint } from '../harness/context.js';
import { createBucket, testS3Client } from '../harness/s3.js';

describe('test harness', () => {
  it('serves a PostgreSQL the tests can create databases in', () => {
    const db = createDatabase('harness');
    psql(db, 'CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)');
    expect(psql(db, 'SELECT sum(x) FROM t')).toBe('3');
    dropDatabase(db);
  });

  it('serves an S3 API where buckets can be created', async () => {
    const bucket = await createBucket(s3Endpoint());
    const r = await testS3Client(s3Endpoint()).send(new ListBucketsCommand({}));
    expect(r.Buckets?.map((b) => b.Name)).toContain(bucket);
  });
});
