/** A real S3 API server (s3rver) on a loopback port, in a child process, for tests. */

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export interface S3Server {
  endpoint: string;
  port: number;
  directory: string;
  stop(): Promise<void>;
}

/** Credentials s3rver accepts; also set in process.env by the test setup. */
export const S3_TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startS3(): Promise<S3Server> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-s3-'));
  const script = fileURLToPath(new URL('./s3-server.mjs', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', script, directory], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      const m = /^(\d+)\n/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.once('error', reject);
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    directory,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin?.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

export function testS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3_TEST_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

let bucketCounter = 0;
/** Creates a fresh, uniquely named bucket. */
export async function createBucket(endpoint: string, prefix = 'test'): Promise<string> {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${bucketCounter++}`.toLowerCase();
  await testS3Client(endpoint).send(new CreateBucketCommand({ Bucket: name }));
  return name;
}
