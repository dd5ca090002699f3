/**
 * What on-call sees, end to end on the bundled actions: a backup against an unreachable database fails
 * with `error` (the real root cause) and `failure-kind` outputs; fed to notify (against a stand-in for
 * GitHub's REST API) they become the issue's title, error and next steps, naming the failed job. The
 * heartbeats (backup's start, notify's success or failure) reach a local HTTP server; a dead heartbeat
 * server fails nothing.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { escapeMarkdown } from '../../src/util/markdown.js';
import { runAction } from '../harness/action.js';
import { type FakeGitHub, startFakeGitHub } from '../harness/github-api.js';

const PASSPHRASE = 'oncall passphrase 0123456789';
const DB_PASSWORD = 'db-pw-8f3k2';

let gh: FakeGitHub;
let beats: http.Server;
let beatsUrl: string;
const pings: Array<{ method: string; url: string; body: string }> = [];

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function runEnv(job: string): Record<string, string> {
  return {
    GITHUB_API_URL: gh.url,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_RUN_ID: '777',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'Backup',
    GITHUB_JOB: job,
  };
}

beforeAll(async () => {
  gh = await startFakeGitHub();
  beats = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      pings.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(200).end('OK');
    });
  });
  await new Promise<void>((r) => beats.listen(0, '127.0.0.1', r));
  beatsUrl = `http://127.0.0.1:${(beats.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await gh.stop();
  await new Promise((r) => beats.close(r));
});
beforeEach(() => {
  gh.issues.length = 0;
  pings.length = 0;
});

describe('on-call: a failed backup, told by notify', () => {
  it('an unreachable database: error and failure-kind reach the issue, with the failed job and the heartbeats', async () => {
    const port = await closedPort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-oncall-'));
    try {
      const backup = await runAction(
        'backup',
        {
          'database-url': `postgres://postgres:${DB_PASSWORD}@127.0.0.1:${port}/shop`,
          destination: dir,
          'encryption-passphrase': PASSPHRASE,
          name: 'shop',
          'heartbeat-url': `${beatsUrl}/ping/backup-check`,
        },
        { env: runEnv('backup') },
      );
      expect(backup.status).toBe(1);
      expect(backup.outputs['failure-kind']).toBe('connect');
      expect(backup.outputs.error).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
      expect(backup.outputs.error).not.toContain(DB_PASSWORD);
      expect(backup.outputs.error).not.toContain('\n');
      expect(pings).toEqual([{ method: 'GET', url: '/ping/backup-check/start', body: '' }]);

      const notify = await runAction(
        'notify',
        {
          status: 'failure',
          'github-token': gh.token,
          name: 'shop',
          error: backup.outputs.error as string,
          'failure-kind': backup.outputs['failure-kind'] as string,
          'failed-job': 'backup',
          'failed-job-url': 'https://github.example/acme/shop/actions/runs/777/job/4242',
          'newest-backup-key': 'shop/2026/11/30/shop-20261130T031503Z.dump.gpg',
          'newest-backup-age-seconds': '93600',
          'heartbeat-url': `${beatsUrl}/ping/run-check`,
        },
        { env: runEnv('notify') },
      );
      expect(notify.status).toBe(1);
      expect(notify.outputs['failure-kind']).toBe('reported');
      expect(notify.outputs.heartbeat).toBe('sent');
      expect(gh.issues).toHaveLength(1);
      const issue = gh.issues[0] as (typeof gh.issues)[number];
      expect(issue.title).toBe('Backup failed (connect): Backup for shop');
      expect(issue.body).toContain(`| Error | ${escapeMarkdown(backup.outputs.error as string)} |`);
      expect(issue.body).toContain('| What failed | **backup**, stage `connect` |');
      expect(issue.body).toContain(
        '| Workflow / job | Backup / [backup](https://github.example/acme/shop/actions/runs/777/job/4242) |',
      );
      expect(issue.body).not.toContain('/ notify');
      expect(issue.body).toMatch(
        /\| Last good backup \| `shop\/2026\/11\/30\/[^|]*, 1d 2h old: \*\*older than the 1d RPO\*\* \|/,
      );
      expect(issue.body).toContain(
        '[start a backup by hand](https://github.example/acme/shop/actions/workflows/backup.yml)',
      );
      expect(issue.body.split('actions/runs/777)').length - 1).toBe(1);
      expect(pings.at(-1)).toMatchObject({ method: 'POST', url: '/ping/run-check/fail' });
      expect(pings.at(-1)?.body).toContain('Backup failed (connect)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad input fails before any I/O with failure-kind config (and no heartbeat)', async () => {
    const r = await runAction(
      'backup',
      {
        'database-url': 'postgres://postgres@127.0.0.1:1/shop',
        destination: os.tmpdir(),
        'encryption-passphrase': PASSPHRASE,
        compression: 'brotli',
        'heartbeat-url': `${beatsUrl}/ping/backup-check`,
      },
      { env: runEnv('backup') },
    );
    expect(r.status).toBe(1);
    expect(r.outputs['failure-kind']).toBe('config');
    expect(r.outputs.error).toMatch(/'compression'/);
    expect(pings).toEqual([]);
  });

  it('a dead heartbeat server does not fail the job', async () => {
    const port = await closedPort();
    const r = await runAction(
      'notify',
      { status: 'success', 'github-token': gh.token, name: 'shop', 'heartbeat-url': `http://127.0.0.1:${port}/ping/x` },
      { env: runEnv('notify') },
    );
    expect(r.status).toBe(0);
    expect(r.outputs.heartbeat).toBe('failed');
    expect(r.warnings.join('\n')).toMatch(/heartbeat: the success ping was not delivered/);
  });
});
