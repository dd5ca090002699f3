/**
 * The bundled notify action with GitHub's API (the REST stand-in) behind the fault proxy: GitHub being
 * unreachable never changes the job's outcome, and retries — the action's own, or a re-run of the job —
 * never open a second issue for the same incident.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAction } from '../harness/action.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { type FakeGitHub, startFakeGitHub } from '../harness/github-api.js';

let gh: FakeGitHub;
let proxy: FaultProxy;
let runId = 500;

function notify(status: string, attempt = '1'): ReturnType<typeof runAction> {
  if (attempt === '1') runId++;
  return runAction(
    'notify',
    { status, 'github-token': gh.token, 'issue-labels': 'backup-failure', name: 'main' },
    {
      env: {
        GITHUB_API_URL: proxy.url,
        GITHUB_SERVER_URL: 'https://github.example',
        GITHUB_REPOSITORY: 'acme/app',
        GITHUB_RUN_ID: String(runId),
        GITHUB_RUN_ATTEMPT: attempt,
        GITHUB_WORKFLOW: 'Nightly backup',
        GITHUB_JOB: 'backup',
      },
    },
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
    expect(failed.status).toBe(1);
    expect(failed.outputs.action).toBe('failed');
    expect(failed.warnings.join('\n')).toMatch(/could not .*gave up after 4 attempts/);
    expect(down.hits).toBeGreaterThanOrEqual(4);
    expect(gh.issues).toEqual([]);

    proxy.reset();
    const rerun = await notify('failure', '2');
    expect(rerun.status).toBe(1);
    expect(rerun.outputs.action).toBe('opened');
    const again = await notify('failure');
    expect(again.outputs.action).toBe('commented');
    expect(gh.issues).toHaveLength(1);
    expect(gh.issues[0]?.comments).toHaveLength(1);
  });

  it('the issue was created but the answer was lost: the retry does not open a second issue', async () => {
    proxy.add({
      match: { method: 'POST', path: /^\/repos\/acme\/app\/issues$/ },
      action: { kind: 'reset', stage: 'response' },
    });
    const run = await notify('failure');
    expect(run.status).toBe(1);
    expect(writes()[0]).toBe('0 POST /repos/acme/app/issues');
    expect(gh.issues).toHaveLength(1);
    expect(run.outputs['issue-number']).toBe('1');
  });

  it('a comment posted but its answer lost: the retry does not post it twice', async () => {
    expect((await notify('failure')).outputs.action).toBe('opened');
    proxy.add({
      match: { method: 'POST', path: /^\/repos\/acme\/app\/issues\/1\/comments$/ },
      action: { kind: 'reset', stage: 'response' },
    });
    const run = await notify('failure');
    expect(run.status).toBe(1);
    expect(gh.issues).toHaveLength(1);
    expect(gh.issues[0]?.comments).toHaveLength(1);
  });
});
