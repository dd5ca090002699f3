/**
 * Process faults and cancellation during a backup, on the bundled action: pg_dump killed, pg_dump with no
 * output, the encryption stage failing, SIGTERM (the runner's cancel) mid-upload and mid-verification, a
 * live lock. Each must fail the run and leave no manifest, no data object and no multipart upload.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { runAction } from '../harness/action.js';
import { clientBin, createDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { addLargeTable } from '../harness/fixtures.js';
import { createBucket, testS3Client } from '../harness/s3.js';

const PASSPHRASE = 'fault passphrase 0123456789';

async function bucketState(bucket: string): Promise<{ keys: string[]; uploads: string[] }> {
  const s3 = testS3Client(s3Endpoint());
  const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return {
    keys: (objects.Contents ?? []).map((o) => o.Key as string),
    uploads: (uploads.Uploads ?? []).map((u) => u.Key as string),
  };
}

function inputs(db: string, bucket: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'database-url': pgUrl(db),
    destination: `s3://${bucket}/b`,
    's3-endpoint': s3Endpoint(),
    'encryption-passphrase': PASSPHRASE,
    ...extra,
  };
}

function fakeBin(script: string, name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-fake-'));
  fs.writeFileSync(path.join(dir, name), script, { mode: 0o755 });
  return dir;
}

describe('backup under process faults and cancellation', () => {
  let db: string;
  beforeAll(() => {
    db = createDatabase('faults');
    addLargeTable(db, 60);
  });

  it('pg_dump killed mid-stream → fails, nothing left behind', async () => {
    const bucket = await createBucket(s3Endpoint());
    // A pg_dump that writes the start of a dump, says so with its pid, then blocks until killed: the kill
    // lands mid-stream every time, and only on the process this test's run started.
    const real = clientBin('pg_dump');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-fake-'));
    const ready = path.join(dir, 'pid');
    fs.writeFileSync(
      path.join(dir, 'pg_dump'),
      `#!/bin/sh\n[ "$1" = "--version" ] && exec "${real}" --version\nprintf -- '--\\n-- PostgreSQL database dump\\n--\\n'\necho $$ > "${ready}.tmp" && mv "${ready}.tmp" "${ready}"\nexec sleep 600\n`,
      { mode: 0o755 },
    );
    const pending = runAction('backup', inputs(db, bucket, { compression: 'none', 'pg-bin-dir': dir }));
    const pid = await vi.waitFor(() => Number(fs.readFileSync(ready, 'utf8')), { timeout: 60_000, interval: 20 });
    process.kill(pid, 'SIGKILL');
    const run = await pending;
    fs.rmSync(dir, { recursive: true, force: true });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/pg_dump was killed by SIGKILL/);
    expect(await bucketState(bucket)).toEqual({ keys: [], uploads: [] });
  });

  it('pg_dump that exits 0 with no output → fails as an empty dump', async () => {
    const bucket = await createBucket(s3Endpoint());
    const version = psql('postgres', 'SHOW server_version').split(' ')[0];
    const dir = fakeBin(
      `#!/bin/sh\n[ "$1" = "--version" ] && echo "pg_dump (PostgreSQL) ${version}"\nexit 0\n`,
      'pg_dump',
    );
    const run = await runAction('backup', inputs(db, bucket, { 'pg-bin-dir': dir }));
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toContain('pg_dump produced no output');
    expect(await bucketState(bucket)).toEqual({ keys: [], uploads: [] });
  });

  it('a plain dump cut short (no completion trailer) → fails even with exit status 0', async () => {
    const bucket = await createBucket(s3Endpoint());
    const real = clientBin('pg_dump');
    const dir = fakeBin(
      `#!/bin/sh\n[ "$1" = "--version" ] && exec "${real}" --version\n"${real}" "$@" | head -c 200000\nexit 0\n`,
      'pg_dump',
    );
    const run = await runAction('backup', inputs(db, bucket, { 'pg-bin-dir': dir }));
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toContain('the dump is incomplete');
    expect(await bucketState(bucket)).toEqual({ keys: [], uploads: [] });
  });

  it('the encryption stage failing mid-stream → fails, upload aborted', async () => {
    const bucket = await createBucket(s3Endpoint());
    const dir = fakeBin('#!/bin/sh\nhead -c 9000000\necho "gpg: simulated write error" >&2\nexit 2\n', 'gpg');
    const run = await runAction('backup', inputs(db, bucket, { compression: 'none' }), {
      env: { PGDR_GPG: path.join(dir, 'gpg') },
    });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/gpg \(encrypt\) exited with status 2/);
    expect(await bucketState(bucket)).toEqual({ keys: [], uploads: [] });
  });

  it.each([
    ['while uploading', /writing .*\.sql\.gpg/],
    ['while checking the stored object', /Verify the stored object/],
  ])('SIGTERM %s → cancelled, nothing left behind, lock released', async (_phase, when) => {
    const bucket = await createBucket(s3Endpoint());
    const run = await runAction('backup', inputs(db, bucket, { compression: 'none' }), {
      signal: { name: 'SIGTERM', whenStdoutMatches: when },
    });
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/cancelled by SIGTERM/);
    expect(await bucketState(bucket)).toEqual({ keys: [], uploads: [] });
  });

  it('a live lock held by another run → refuses, naming the holder, and leaves the lock alone', async () => {
    const bucket = await createBucket(s3Endpoint());
    const lock = JSON.stringify({
      owner: 'nightly run 42 on host-a',
      token: 't',
      acquiredAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    await testS3Client(s3Endpoint()).send(
      new (await import('@aws-sdk/client-s3')).PutObjectCommand({ Bucket: bucket, Key: `b/${db}/.lock`, Body: lock }),
    );
    const run = await runAction('backup', inputs(db, bucket));
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/another backup of this set is running: .* held by nightly run 42 on host-a/);
    expect((await bucketState(bucket)).keys).toEqual([`b/${db}/.lock`]);
  });
});
