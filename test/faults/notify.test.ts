/**
 * The notify use case over the Octokit client, with GitHub's API (the REST stand-in) behind the fault
 * proxy, in-process with every retry wait scaled to zero: GitHub being unreachable never changes the
 * outcome, and retries — the client's own, or a re-run of the job — never open a second issue for the
 * same incident. (The bundled action's real waits are paid once, in test/e2e/notify.test.ts.)
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OctokitIssues } from '../../src/core/github/octokit.js';
import { type NotifyResult, notify as notifyCore } from '../../src/core/notify.js';
import { silentLogger } from '../../src/util/log.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { type FakeGitHub, startFakeGitHub } from '../harness/github-api.js';

let gh: FakeGitHub;
let proxy: FaultProxy;
let runId = 500;

async function notify(status: 'success' | 'failure', attempt = '1'): Promise<NotifyResult> {
  if (attempt === '1') runId++;
  return notifyCore(
    {
      status,
      notifyOn: 'failure',
      repo: { owner: 'acme', repo: 'app' },
      labels: ['backup-failure'],
      assignees: [],
      name: 'main',
      run: {
        serverUrl: 'https://github.example',
        repository: 'acme/app',
        workflow: 'Nightly backup',
        job: 'backup',
        runId: String(runId),
        runAttempt: attempt,
      },
      failure: { action: 'backup', kind: 'dump', error: 'pg_dump: error: out of memory', job: 'backup' },
      rpoSeconds: 86_400,
      backupWorkflow: 'backup.yml',
    },
    { github: new OctokitIssues({ apiUrl: proxy.url, token: gh.token, waitScale: 0 }), log: silentLogger },
  );
}

const writes = (): string[] =>
  proxy.requests.filter((r) => r.method !== 'GET').map((r) => `${r.status} ${r.method} ${r.path}`);

beforeAll(async () => {
  gh = await startFakeGitHub();
  proxy = await startFaultProxy(gh.url);
});
afterAll(async () => {
  await proxy.stop();
  await gh.stop();
});
beforeEach(() => {
  gh.issues.length = 0;
  gh.requests.length = 0;
  proxy.reset();
});

describe('notify with GitHub failing', () => {
  it('GitHub down: the outcome is unchanged; the re-run opens one issue, a later failure comments on it', async () => {
    const down = proxy.add({
      match: { path: /^\/(repos|search)\// },
      when: 'always',
      action: { kind: 'reset', stage: 'request' },
    });
    const failed = await notify('failure');
    expect(failed.action).toBe('failed');
    expect(failed.warnings.join('\n')).toMatch(/could not .*gave up after 4 attempts/);
    expect(down.hits).toBeGreaterThanOrEqual(4);
    expect(gh.issues).toEqual([]);

    proxy.reset();
    const rerun = await notify('failure', '2');
    expect(rerun.action).toBe('opened');
    const again = await notify('failure');
    expect(again.action).toBe('commented');
    expect(gh.issues).toHaveLength(1);
    expect(gh.issues[0]?.comments).toHaveLength(1);
  });

  it('the issue was created but the answer was lost: the retry does not open a second issue', async () => {
    proxy.add({
      match: { method: 'POST', path: /^\/repos\/acme\/app\/issues$/ },
      action: { kind: 'reset', stage: 'response' },
    });
    const run = await notify('failure');
    expect(writes()[0]).toBe('0 POST /repos/acme/app/issues');
    expect(writes().filter((w) => w.includes('POST'))).toHaveLength(1);
    expect(gh.issues).toHaveLength(1);
    expect(run.issue?.number).toBe(1);
  });

  it('a comment posted but its answer lost: the retry does not post it twice', async () => {
    expect((await notify('failure')).action).toBe('opened');
    proxy.add({
      match: { method: 'POST', path: /^\/repos\/acme\/app\/issues\/1\/comments$/ },
      action: { kind: 'reset', stage: 'response' },
    });
    const run = await notify('failure');
    expect(run.action).toBe('commented');
    expect(gh.issues).toHaveLength(1);
    expect(gh.issues[0]?.comments).toHaveLength(1);
  });
});
