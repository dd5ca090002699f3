/**
 * Set-up mistakes of a first run get errors that name the fix: an empty database-url (an unset secret)
 * names the input and the secret; a bucket in another region names s3-region; missing AWS credentials
 * name the two ways to give them. The S3 cases go through a real S3Client against a local HTTP server
 * answering as S3 does, so the SDK's own error shapes are what is explained.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '../../src/core/postgres/connection.js';
import { createS3Client, S3Storage } from '../../src/core/storage/s3.js';
import { UserError } from '../../src/util/errors.js';

const PG_VARS = ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGSERVICE', 'PGPASSWORD'];
const AWS_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_EC2_METADATA_DISABLED',
];
const saved = new Map<string, string | undefined>();
function setEnv(values: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(values)) {
    if (!saved.has(k)) saved.set(k, process.env[k]);
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
afterEach(() => {
  for (const [k, v] of saved) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  saved.clear();
});

describe('an empty database-url', () => {
  it('without any PG* variable is a UserError naming the input and the secret', () => {
    setEnv(Object.fromEntries(PG_VARS.map((k) => [k, undefined])));
    expect(() => parseDatabaseUrl('')).toThrow(UserError);
    expect(() => parseDatabaseUrl('  ')).toThrow(/'database-url' is empty.*DATABASE_URL.*Settings → Secrets/s);
  });

  it.each(['PGHOST', 'PGDATABASE', 'PGSERVICE'])('with %s set still means "use the PG* environment"', (name) => {
    setEnv(Object.fromEntries(PG_VARS.map((k) => [k, undefined])));
    setEnv({ [name]: 'x' });
    expect(() => parseDatabaseUrl('')).not.toThrow();
  });
});

describe('S3 set-up errors', () => {
  // Answers every request as S3 answers for a bucket in eu-west-1 reached through us-east-1.
  let answer: 'redirect' | 'malformed' = 'redirect';
  const server = http.createServer((req, res) => {
    req.resume();
    if (answer === 'redirect') {
      res.writeHead(301, { 'content-type': 'application/xml', 'x-amz-bucket-region': 'eu-west-1' });
      res.end(
        req.method === 'HEAD'
          ? undefined
          : '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><Bucket>b</Bucket><Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint></Error>',
      );
    } else {
      res.writeHead(400, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region \'us-east-1\' is wrong; expecting \'eu-west-1\'</Message><Region>eu-west-1</Region></Error>',
      );
    }
  });
  let endpoint = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const withKeys = () => setEnv({ AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' });

  it.each([
    ['redirect', 'a listing (301 PermanentRedirect)'],
    ['malformed', 'a listing (AuthorizationHeaderMalformed)'],
  ] as const)('%s: %s names s3-region and the bucket’s region', async (kind, _what) => {
    withKeys();
    answer = kind;
    const client = createS3Client({ endpoint, region: 'us-east-1', maxAttempts: 1 });
    const err = await client.send(new ListObjectsV2Command({ Bucket: 'b' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/not in region 'us-east-1'.*set 's3-region'.*eu-west-1/);
  });

  it('the replica’s storage names replica-s3-region; probe() keeps the message', async () => {
    withKeys();
    answer = 'redirect';
    const storage = new S3Storage({
      bucket: 'b',
      endpoint,
      region: 'us-east-1',
      regionInput: 'replica-s3-region',
      maxAttempts: 1,
    });
    const err = await storage.probe().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /set 'replica-s3-region' to the bucket's region \(replica-s3-region: eu-west-1\)/,
    );
  });

  it('no credentials anywhere: the message names both ways (job-level secrets, or OIDC with role-to-assume)', async () => {
    setEnv(Object.fromEntries(AWS_VARS.map((k) => [k, undefined])));
    setEnv({
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/pgdr-test/credentials',
      AWS_CONFIG_FILE: '/nonexistent/pgdr-test/config',
    });
    const client = createS3Client({ endpoint, region: 'us-east-1', maxAttempts: 1 });
    const err = await client.send(new ListObjectsV2Command({ Bucket: 'b' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    const message = (err as Error).message;
    expect(message).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY under the job’s env:/);
    expect(message).toMatch(/configure-aws-credentials with role-to-assume/);
    expect(message).toMatch(/id-token: write/);
  });
});
