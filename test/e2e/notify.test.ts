/**
 * The bundled notify action, run as the runner runs it, against a local stand-in for GitHub's REST API
 * (GITHUB_API_URL): one incident = one issue, repeat failures comment, success closes, and an unreachable
 * GitHub never changes the step's verdict nor leaks the token.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAction, runCli } from '../harness/action.js';
import { createDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { type FakeGitHub, startFakeGitHub } from '../harness/github-api.js';
import { makeKeyPair } from '../harness/gpg-keys.js';
import { createBucket } from '../harness/s3.js';

let gh: FakeGitHub;
let run = 100;

function runEnv(apiUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  run++;
  return {
    GITHUB_API_URL: apiUrl,
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_REPOSITORY: 'acme/app',
    GITHUB_RUN_ID: String(run),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'Nightly backup',
    GITHUB_JOB: 'backup',
    ...extra,
  };
}

function inputs(status: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    status,
    'github-token': gh.token,
    'issue-labels': 'backup-failure, oncall',
    'issue-assignees': 'alice\n@bob',
    name: 'main',
    ...extra,
  };
}

function everything(r: Awaited<ReturnType<typeof runAction>>): string {
  return r.visible + r.stderr + r.summary + JSON.stringify(r.outputs);
}

beforeAll(async () => {
  gh = await startFakeGitHub();
});
afterAll(async () => {
  await gh.stop();
});
beforeEach(() => {
  gh.issues.length = 0;
  gh.requests.length = 0;
  gh.webhooks.length = 0;
  gh.assignable = undefined;
});

describe('notify action (bundled, against a GitHub REST stand-in)', () => {
  it('failure opens one issue, a repeat comments on it, success comments "recovered" and closes it', async () => {
    const first = await runAction('notify', inputs('failure'), { env: runEnv(gh.url) });
    expect(first.status).toBe(1);
    expect(first.outputs).toMatchObject({ action: 'opened', 'issue-number': '1', occurrence: '1' });
    expect(first.errors.join('\n')).toMatch(
      /the run failed; on-call issue: https:\/\/github\.example\/acme\/app\/issues\/1/,
    );
    expect(first.warnings).toEqual([]);
    expect(gh.issues).toHaveLength(1);
    const issue = gh.issues[0];
    expect(issue).toMatchObject({
      repo: 'acme/app',
      title: 'Backup alert: Nightly backup failed for main',
      labels: ['backup-failure', 'oncall'],
      assignees: ['alice', 'bob'],
      state: 'open',
    });
    expect(issue?.body).toContain('https://github.example/acme/app/actions/runs/101');
    expect(issue?.body).toContain('Nightly backup / backup');
    expect(issue?.body).toContain('<!-- postgres-dr:incident:acme%2Fapp:Nightly%20backup:main -->');
    expect(first.summary).toContain('On-call alerted: https://github.example/acme/app/issues/1');

    const second = await runAction('notify', inputs('failure', { details: '{"key":"db/main/x.sql.gz.gpg"}' }), {
      env: runEnv(gh.url),
    });
    expect(second.status).toBe(1);
    expect(second.outputs).toMatchObject({ action: 'commented', 'issue-number': '1', occurrence: '2' });
    expect(gh.issues).toHaveLength(1);
    expect(issue?.comments).toHaveLength(1);
    expect(issue?.comments[0]?.body).toMatch(
      /Occurrence #2[\s\S]*runs\/102[\s\S]*\| key \| db\/main\/x\.sql\.gz\.gpg \|/,
    );
    expect(issue?.body).toContain('<!-- postgres-dr:occurrences:2 -->');

    const ok = await runAction('notify', inputs('success'), { env: runEnv(gh.url) });
    expect(ok.status).toBe(0);
    expect(ok.outputs).toMatchObject({ action: 'closed', 'issue-number': '1' });
    expect(issue?.state).toBe('closed');
    expect(issue?.state_reason).toBe('completed');
    expect(issue?.comments.at(-1)?.body).toMatch(/Recovered[\s\S]*runs\/103[\s\S]*after 2 failed runs/);

    const quiet = await runAction('notify', inputs('success'), { env: runEnv(gh.url) });
    expect(quiet.status).toBe(0);
    expect(quiet.outputs.action).toBe('none');
    const writes = gh.requests.filter((r) => r.method !== 'GET');
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /repos/acme/app/issues',
      'POST /repos/acme/app/issues/1/comments',
      'PATCH /repos/acme/app/issues/1',
      'POST /repos/acme/app/issues/1/comments',
      'PATCH /repos/acme/app/issues/1',
    ]);
  });

  it('when GitHub fails the step warns, and its exit status follows `status`', async () => {
    // A 404 for every call: a failure that is not retried (refused connections and 5xx are, in
    // test/unit/notify-http.test.ts and test/faults/notify.test.ts, without real waits).
    const broken = `${gh.url}/nowhere`;
    const failed = await runAction('notify', inputs('failure'), { env: runEnv(broken) });
    expect(failed.status).toBe(1);
    expect(failed.outputs.action).toBe('failed');
    expect(failed.warnings.join('\n')).toMatch(
      /could not open an issue in acme\/app: POST \/repos\/acme\/app\/issues answered 404: Not Found \(the repository was not found/,
    );
    expect(failed.errors.join('\n')).toMatch(/the run failed/);

    const passed = await runAction('notify', inputs('success'), { env: runEnv(broken) });
    expect(passed.status).toBe(0);
    expect(passed.warnings.join('\n')).toMatch(/could not look for an open incident issue/);

    const lenient = await runAction('notify', inputs('failure', { 'fail-on-failure': 'false' }), {
      env: runEnv(broken),
    });
    expect(lenient.status).toBe(0);
    for (const r of [failed, passed, lenient]) expect(everything(r)).not.toContain(gh.token);
  });

  // The one bundled run that pays real retry waits (a backoff, and the 1 s a rate limit asks for).
  it('retries a 503 (and waits out a rate limit) and then succeeds', async () => {
    gh.failNext(
      { status: 503, match: /^GET / },
      { status: 429, retryAfter: '1', message: 'You have exceeded a secondary rate limit', match: /^POST / },
    );
    const r = await runAction('notify', inputs('failure'), { env: runEnv(gh.url) });
    expect(r.outputs.action).toBe('opened');
    expect(r.warnings).toEqual([]);
    expect(gh.issues).toHaveLength(1);
    expect(gh.requests.map((q) => `${q.status} ${q.method} ${q.path}`)).toEqual([
      '503 GET /repos/acme/app/issues',
      '200 GET /repos/acme/app/issues',
      '429 POST /repos/acme/app/issues',
      '201 POST /repos/acme/app/issues',
    ]);
    expect(r.visible).toMatch(/GET \/repos\/acme\/app\/issues answered 503: injected 503; retrying \(attempt 2 of 4\)/);
    expect(r.visible).toMatch(/answered 429: You have exceeded a secondary rate limit; retrying \(attempt 2 of 4\)/);
    expect(everything(r)).not.toContain(gh.token);
  });

  it('never shows the token: not in logs, summary, issue bodies or requests other than the header', async () => {
    const r = await runAction('notify', inputs('failure', { details: `token was ${gh.token}` }), {
      env: runEnv(gh.url),
    });
    expect(r.outputs.action).toBe('opened');
    expect(everything(r)).not.toContain(gh.token);
    expect(JSON.stringify(gh.issues)).not.toContain(gh.token);
    for (const q of gh.requests) {
      expect(JSON.stringify(q.body ?? '')).not.toContain(gh.token);
      expect(q.path + JSON.stringify(q.query)).not.toContain(gh.token);
    }
    expect(gh.issues[0]?.body).toContain('token was ***');
  });

  it('a wrong token is a warning that names the cause, not a crash', async () => {
    const r = await runAction('notify', inputs('failure', { 'github-token': 'ghs_wrong_token_x' }), {
      env: runEnv(gh.url),
    });
    expect(r.status).toBe(1);
    expect(r.warnings.join('\n')).toMatch(/401: Bad credentials \(the token was refused: check github-token\)/);
    expect(everything(r)).not.toContain('ghs_wrong_token_x');
  });

  it('opens the issue unassigned when an assignee cannot be assigned', async () => {
    gh.assignable = ['alice'];
    const r = await runAction('notify', inputs('failure'), { env: runEnv(gh.url) });
    expect(r.outputs.action).toBe('opened');
    expect(gh.issues[0]?.assignees).toEqual([]);
    expect(r.warnings.join('\n')).toMatch(
      /could not assign alice, bob; opening the issue unassigned: .*422: Validation Failed/,
    );
  });

  it('posts to the webhook without ever showing its URL, and says cancelled for a cancelled run', async () => {
    const hook = `${gh.url}/webhook?secret=hook${Date.now()}`;
    const r = await runAction('notify', inputs('cancelled', { 'webhook-url': hook }), { env: runEnv(gh.url) });
    expect(r.status).toBe(1);
    expect(r.outputs.webhook).toBe('sent');
    expect(gh.issues[0]?.title).toBe('Backup alert: Nightly backup was cancelled for main');
    expect(gh.webhooks).toEqual([
      {
        text: `:x: Nightly backup (main) in acme/app was cancelled | run: https://github.example/acme/app/actions/runs/${run} | issue: https://github.example/acme/app/issues/1`,
      },
    ]);
    expect(everything(r)).not.toContain(hook);
  });

  it('names the last good backup from the manifests when destination is given', async () => {
    const db = createDatabase('notify');
    psql(db, 'CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 10)');
    const bucket = await createBucket(s3Endpoint());
    const s3 = { destination: `s3://${bucket}/db`, 's3-endpoint': s3Endpoint(), 's3-force-path-style': 'true' };
    // Unencrypted, so signed; notify names only a backup whose manifest authenticates.
    const signing = makeKeyPair('notify e2e signing <notify@example.invalid>');
    const backup = await runAction('backup', {
      'database-url': pgUrl(db),
      ...s3,
      name: 'main',
      encryption: 'none',
      'signing-key': signing.privateKey,
    });
    expect(backup.status).toBe(0);
    const r = await runAction('notify', inputs('failure', { ...s3, 'signing-public-key': signing.publicKey }), {
      env: runEnv(gh.url),
    });
    expect(r.outputs.action).toBe('opened');
    expect(gh.issues[0]?.body).toContain(
      `| Last good backup | \`s3://${bucket}/${backup.outputs.key}\`, taken ${backup.outputs['created-at']}`,
    );
    expect(gh.issues[0]?.body).toContain('10 rows');

    // With a key that does not authenticate it, it is no good backup; with no key, it is not looked up.
    const wrongKey = await runAction('notify', inputs('failure', { ...s3, 'encryption-passphrase': 'another one' }), {
      env: runEnv(gh.url),
    });
    expect(wrongKey.outputs.action).toBe('commented');
    expect(gh.issues[0]?.comments.at(-1)?.body).toContain(
      'Last good backup: **none**: no backup with a valid manifest was found',
    );
    const noKey = await runAction('notify', inputs('failure', s3), { env: runEnv(gh.url) });
    expect(noKey.outputs.action).toBe('commented');
    expect(gh.issues[0]?.comments.at(-1)?.body).toContain(
      'Last good backup: not looked up (give `destination` and `encryption-passphrase` or `signing-public-key`',
    );
  });

  it('refuses a missing status before any request', async () => {
    const r = await runAction('notify', { 'github-token': gh.token }, { env: runEnv(gh.url) });
    expect(r.status).toBe(1);
    expect(r.errors.join()).toMatch(/'status' is required/);
    expect(gh.requests).toEqual([]);
  });

  it('pgdr notify opens the issue from a terminal, with the token from the environment', async () => {
    const r = await runCli(['notify', '--status', 'failure', '--repository', 'acme/app', '--name', 'main', '--json'], {
      PGDR_GITHUB_TOKEN: gh.token,
      GITHUB_API_URL: gh.url,
    });
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'opened', 'issue-number': 1 });
    expect(gh.issues[0]?.body).toContain('a local run (pgdr)');
    expect(r.stdout + r.stderr).not.toContain(gh.token);
  });
});
