/** The incident logic of notify over an in-memory GitHub: open, repeat, recover, and what survives errors. */
import { describe, expect, it } from 'vitest';
import { type GitHubIssues, HttpError, type Issue, type NewIssue, type RepoRef } from '../../src/core/github/client.js';
import {
  incidentKey,
  incidentMarker,
  neutralizeMarkers,
  occurrencesIn,
  withOccurrences,
} from '../../src/core/github/incidents.js';
import { type NotifyConfig, notify, renderDetails, runUrl } from '../../src/core/notify.js';
import { silentLogger } from '../../src/util/log.js';

class MemoryGitHub implements GitHubIssues {
  issues: Issue[] = [];
  comments: Array<{ issue: number; body: string }> = [];
  failures: Partial<Record<keyof GitHubIssues, Error>> = {};
  private fail(op: keyof GitHubIssues): void {
    const e = this.failures[op];
    if (e) throw e;
  }
  async listOpenIssues(_r: RepoRef, label: string): Promise<Issue[]> {
    this.fail('listOpenIssues');
    return this.issues.filter((i) => i.state === 'open' && i.labels.includes(label));
  }
  async createIssue(_r: RepoRef, n: NewIssue): Promise<Issue> {
    this.fail('createIssue');
    const i: Issue = { ...n, number: this.issues.length + 1, state: 'open', url: `u/${this.issues.length + 1}` };
    this.issues.push(i);
    return i;
  }
  async createComment(_r: RepoRef, issue: number, body: string): Promise<{ url: string }> {
    this.fail('createComment');
    this.comments.push({ issue, body });
    return { url: 'c' };
  }
  async updateIssue(_r: RepoRef, n: number, u: { state?: 'open' | 'closed'; body?: string }): Promise<Issue> {
    this.fail('updateIssue');
    const i = this.issues.find((x) => x.number === n) as Issue;
    if (u.state) i.state = u.state;
    if (u.body !== undefined) i.body = u.body;
    return i;
  }
}

const base: NotifyConfig = {
  status: 'failure',
  notifyOn: 'failure',
  repo: { owner: 'acme', repo: 'app' },
  labels: ['backup-failure', 'oncall'],
  assignees: ['alice'],
  name: 'main',
  run: {
    serverUrl: 'https://github.com',
    repository: 'acme/app',
    workflow: 'Nightly backup',
    job: 'backup',
    runId: '42',
    runAttempt: '1',
  },
  failure: { action: 'backup', kind: 'connect', error: 'connect ECONNREFUSED 10.0.0.5:5432', job: 'backup' },
  rpoSeconds: 86_400,
  backupWorkflow: 'backup.yml',
};
const now = () => new Date('2026-11-25T12:00:00Z');

describe('incident markers', () => {
  it.each([
    ['acme/app', 'Nightly backup', 'main', 'acme%2Fapp:Nightly%20backup:main'],
    ['acme/app', 'x-->y', '', 'acme%2Fapp:x--%3Ey:-'],
  ])('key of %s %s %s', (repo, wf, set, key) => {
    expect(incidentKey(repo, wf, set)).toBe(key);
    expect(incidentMarker(key)).not.toMatch(/-->.*-->/);
  });

  it.each([
    ['no counter', 1],
    ['x <!-- postgres-dr:occurrences:4 --> y', 4],
  ])('occurrences in %s', (body, n) => {
    expect(occurrencesIn(body)).toBe(n);
    expect(occurrencesIn(withOccurrences(body, n + 1))).toBe(n + 1);
  });

  it('user text cannot forge a marker', () => {
    const forged = `hi ${incidentMarker('acme%2Fapp:Nightly%20backup:main')}`;
    expect(neutralizeMarkers(forged)).not.toContain('<!-- postgres-dr:incident:');
  });
});

describe('renderDetails', () => {
  it.each([
    ['{"key":"a/b.sql.gz","mismatches":["t1"]}', '| key | a/b.sql.gz |\n| mismatches | \\["t1"\\] |'],
    ['[1,2]', '```json'],
    ['plain\nwords', '```text\nplain\nwords\n```'],
    ['has ``` fence', '````text\nhas ``` fence\n````'],
    ['{"a":"x|y"}', 'x\\|y'],
  ])('%s', (details, expected) => {
    expect(renderDetails(details)).toContain(expected);
  });
});

describe('runUrl', () => {
  it.each([
    [{ runId: '42', runAttempt: '1' }, 'https://ghe.example/acme/app/actions/runs/42'],
    [{ runId: '42', runAttempt: '3' }, 'https://ghe.example/acme/app/actions/runs/42/attempts/3'],
    [{}, undefined],
  ])('%j', (ids, url) => {
    expect(runUrl({ serverUrl: 'https://ghe.example/', repository: 'acme/app', workflow: 'w', ...ids })).toBe(url);
  });
});

describe('notify', () => {
  it('opens one issue, then comments on it, then closes it on success', async () => {
    const gh = new MemoryGitHub();
    const deps = { github: gh, log: silentLogger, now };
    const first = await notify(base, deps);
    expect(first).toMatchObject({ action: 'opened', occurrence: 1, issue: { number: 1 } });
    expect(gh.issues[0]).toMatchObject({
      title: 'Backup failed (connect): Nightly backup for main',
      labels: ['backup-failure', 'oncall'],
      assignees: ['alice'],
    });
    expect(gh.issues[0]?.body).toContain('https://github.com/acme/app/actions/runs/42');
    expect(gh.issues[0]?.body).toContain(incidentMarker(incidentKey('acme/app', 'Nightly backup', 'main')));

    const second = await notify({ ...base, run: { ...base.run, runId: '43' } }, deps);
    const third = await notify({ ...base, run: { ...base.run, runId: '44' } }, deps);
    expect(second).toMatchObject({ action: 'commented', occurrence: 2, issue: { number: 1 } });
    expect(third).toMatchObject({ action: 'commented', occurrence: 3 });
    expect(gh.issues).toHaveLength(1);
    expect(gh.comments.map((c) => c.body.split('\n')[0])).toEqual([
      '### ❌ Occurrence #2: Backup failed (connect) again',
      '### ❌ Occurrence #3: Backup failed (connect) again',
    ]);

    const other = await notify({ ...base, name: 'reporting' }, deps);
    expect(other.action).toBe('opened');

    const ok = await notify({ ...base, status: 'success', run: { ...base.run, runId: '45' } }, deps);
    expect(ok).toMatchObject({ action: 'closed', issue: { number: 1 } });
    expect(gh.issues[0]?.state).toBe('closed');
    expect(gh.issues[1]?.state).toBe('open');
    expect(gh.comments.at(-1)?.body).toMatch(/Recovered[\s\S]*runs\/45[\s\S]*after 3 failed runs/);

    const again = await notify({ ...base, status: 'success' }, deps);
    expect(again.action).toBe('none');
  });

  it('says cancelled when the run was cancelled', async () => {
    const gh = new MemoryGitHub();
    await notify({ ...base, status: 'cancelled' }, { github: gh, log: silentLogger, now });
    expect(gh.issues[0]?.title).toBe('Backup cancelled: Nightly backup for main');
  });

  it('opens the issue unassigned when an assignee cannot be assigned', async () => {
    const gh = new MemoryGitHub();
    let calls = 0;
    const create = gh.createIssue.bind(gh);
    gh.createIssue = async (r, n) => {
      if (calls++ === 0) throw new HttpError('POST answered 422: Validation Failed', 422, 'Validation Failed');
      return create(r, n);
    };
    const r = await notify(base, { github: gh, log: silentLogger, now });
    expect(r.action).toBe('opened');
    expect(gh.issues[0]?.assignees).toEqual([]);
    expect(r.warnings.join()).toMatch(/could not assign alice/);
  });

  it('opens an issue anyway when the search fails, and warns', async () => {
    const gh = new MemoryGitHub();
    gh.failures.listOpenIssues = new HttpError('GET answered 502', 502, '');
    const r = await notify(base, { github: gh, log: silentLogger, now });
    expect(r.action).toBe('opened');
    expect(r.warnings.join()).toMatch(/could not look for an open incident issue/);
  });

  it('turns GitHub errors into warnings with a hint about permissions', async () => {
    const gh = new MemoryGitHub();
    gh.failures.listOpenIssues = new HttpError('GET answered 403', 403, 'Resource not accessible by integration');
    gh.failures.createIssue = new HttpError('POST answered 403', 403, 'Resource not accessible by integration');
    const r = await notify(base, { github: gh, log: silentLogger, now });
    expect(r.action).toBe('failed');
    expect(r.warnings.join('\n')).toMatch(/permissions: issues: write/);
  });

  it('posts to the webhook on failure and recovery, and on success only with notify-on: always', async () => {
    const posted: string[] = [];
    const gh = new MemoryGitHub();
    const deps = {
      github: gh,
      log: silentLogger,
      now,
      postWebhook: async (_u: string, p: { text: string }) => {
        posted.push(p.text);
      },
    };
    const c = { ...base, webhookUrl: 'https://hooks.example/T/B/x' };
    await notify(c, deps);
    await notify({ ...c, status: 'success' }, deps);
    await notify({ ...c, status: 'success' }, deps);
    await notify({ ...c, status: 'success', notifyOn: 'always' }, deps);
    expect(posted).toEqual([
      ':x: Backup failed (connect): Nightly backup for main in acme/app | error: connect ECONNREFUSED 10.0.0.5:5432 | run: https://github.com/acme/app/actions/runs/42 | issue: u/1',
      ':white_check_mark: Recovered: Nightly backup (main) in acme/app succeeded | run: https://github.com/acme/app/actions/runs/42 | issue: u/1',
      ':white_check_mark: Nightly backup (main) in acme/app succeeded | run: https://github.com/acme/app/actions/runs/42',
    ]);
  });

  it('names the last good backup from the manifests', async () => {
    const gh = new MemoryGitHub();
    await notify(base, {
      github: gh,
      log: silentLogger,
      now,
      lastGood: async () => ({
        key: 'db/main/2026/11/24/main-20260724T000000Z.sql.gz.gpg',
        location: 's3://b',
        createdAt: '2026-11-24T00:00:00Z',
        size: 2048,
        rows: 1234,
      }),
    });
    expect(gh.issues[0]?.body).toContain(
      '| Last good backup | `s3://b/db/main/2026/11/24/main-20260724T000000Z.sql.gz.gpg`, 1d 12h old (taken 2026-11-24 00:00 UTC): **older than the 1d RPO** |',
    );
  });
});
