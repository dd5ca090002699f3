/**
 * The Octokit-backed GitHub client and the webhook post, in-process against the REST stand-in with every
 * wait scaled to zero: which answers are retried, when we give up, and that a POST which may have been
 * carried out is looked up before it is sent again.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from '../../src/core/github/client.js';
import { type GitHubClientOptions, OctokitIssues } from '../../src/core/github/octokit.js';
import { postWebhook } from '../../src/core/webhook.js';
import { type FakeGitHub, startFakeGitHub } from '../harness/github-api.js';
import { freePort } from '../harness/postgres.js';

let gh: FakeGitHub;
const repo = { owner: 'acme', repo: 'app' };
const newIssue = { title: 'Backup alert', body: 'body', labels: ['backup-failure'], assignees: [] };

function client(o: Partial<GitHubClientOptions> = {}): { gh: OctokitIssues; retries: string[] } {
  const retries: string[] = [];
  const c = new OctokitIssues({
    apiUrl: gh.url,
    token: gh.token,
    waitScale: 0,
    onRetry: (m) => retries.push(m),
    ...o,
  });
  return { gh: c, retries };
}

const seen = (): string[] => gh.requests.map((r) => `${r.status} ${r.method} ${r.path}`);

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
});

describe('OctokitIssues', () => {
  it('retries a 503 and returns the next answer, logging the retry', async () => {
    gh.failNext({ status: 503 });
    const { gh: c, retries } = client();
    expect(await c.listOpenIssues(repo, 'backup-failure')).toEqual([]);
    expect(seen()).toEqual(['503 GET /repos/acme/app/issues', '200 GET /repos/acme/app/issues']);
    expect(retries).toEqual(['GET /repos/acme/app/issues answered 503: injected 503; retrying (attempt 2 of 4)']);
  });

  it('gives up after the attempts, naming the status and the service message', async () => {
    gh.failNext(...Array.from({ length: 4 }, () => ({ status: 502 })));
    const err = await client()
      .gh.listOpenIssues(repo, 'l')
      .catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toBe('GET /repos/acme/app/issues answered 502: injected 502 (gave up after 4 attempts)');
    expect(err.status).toBe(502);
    expect(gh.requests).toHaveLength(4);
  });

  it.each([401, 403, 404, 410, 422])('does not retry a %i', async (status) => {
    gh.failNext({ status });
    const err = await client()
      .gh.listOpenIssues(repo, 'l')
      .catch((e) => e);
    expect(err.status).toBe(status);
    expect(gh.requests).toHaveLength(1);
  });

  it('waits out a secondary rate limit (even for a POST: it was refused, not done)', async () => {
    gh.failNext({ status: 429, retryAfter: '7', message: 'You have exceeded a secondary rate limit', match: /^POST / });
    const { gh: c, retries } = client();
    expect((await c.createIssue(repo, newIssue)).number).toBe(1);
    expect(seen()).toEqual(['429 POST /repos/acme/app/issues', '201 POST /repos/acme/app/issues']);
    expect(retries[0]).toMatch(/429: You have exceeded a secondary rate limit; retrying \(attempt 2 of 4\)/);
  });

  it('gives up at once when Retry-After is beyond the bound', async () => {
    gh.failNext({ status: 403, retryAfter: '3600', message: 'You have exceeded a secondary rate limit' });
    const err = await client()
      .gh.listOpenIssues(repo, 'l')
      .catch((e) => e);
    expect(err.message).toMatch(/answered 403: .*secondary rate limit \(asked to retry after 3600s: giving up\)/);
    expect(gh.requests).toHaveLength(1);
  });

  it('retries a refused connection, POST included, and says so', async () => {
    const { gh: c, retries } = client({ apiUrl: `http://127.0.0.1:${await freePort()}` });
    const err = await c.createIssue(repo, newIssue).catch((e) => e);
    expect(err.status).toBeNull();
    expect(err.message).toMatch(
      /^POST \/repos\/acme\/app\/issues failed: fetch failed: .*ECONNREFUSED.* \(gave up after 4 attempts\)$/,
    );
    expect(retries).toHaveLength(3);
  });

  it('a POST answered 500 is not sent again before looking: the issue it made is found, not made twice', async () => {
    const created = await client().gh.createIssue(repo, newIssue);
    gh.requests.length = 0;
    gh.failNext({ status: 500, match: /^POST / });
    const { gh: c, retries } = client();
    // The stand-in answers 500 without creating: the lookup finds nothing, so it posts again.
    const again = await c.createIssue(repo, { ...newIssue, title: 'Other' });
    expect(seen()).toEqual([
      '500 POST /repos/acme/app/issues',
      '200 GET /repos/acme/app/issues',
      '201 POST /repos/acme/app/issues',
    ]);
    expect(retries).toEqual([
      'POST /repos/acme/app/issues answered 500: injected 500; not done, retrying (attempt 2 of 4)',
    ]);
    expect(again.number).toBe(created.number + 1);
  });

  it('a POST whose answer was lost is found by the lookup and not repeated', async () => {
    // A server that carries out every POST and then drops the connection before answering.
    const lossy = http.createServer((req, res) => {
      if (req.method === 'POST') {
        req.resume();
        req.on('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ number: 7, title: 'Backup alert', body: 'body', state: 'open', html_url: 'u/7' }]));
    });
    await new Promise<void>((r) => lossy.listen(0, '127.0.0.1', r));
    const posts: string[] = [];
    lossy.on('request', (req) => posts.push(`${req.method} ${req.url}`));
    try {
      const { gh: c } = client({ apiUrl: `http://127.0.0.1:${(lossy.address() as AddressInfo).port}` });
      expect((await c.createIssue(repo, newIssue)).number).toBe(7);
      expect(posts.filter((p) => p.startsWith('POST'))).toHaveLength(1);
      expect(posts[1]).toMatch(/^GET \/repos\/acme\/app\/issues\?.*sort=created/);
    } finally {
      lossy.closeAllConnections();
      await new Promise((r) => lossy.close(r));
    }
  });

  it('sends the token only in the Authorization header and never in an error', async () => {
    gh.failNext({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const { gh: c, retries } = client();
    const err = await c.listOpenIssues(repo, 'backup-failure').catch((e) => e);
    expect(gh.requests[0]?.headers.authorization).toBe(`token ${gh.token}`);
    expect(gh.requests[0]?.query).toMatchObject({ state: 'open', labels: 'backup-failure', per_page: '100' });
    expect(JSON.stringify(err) + err.message + String(err.cause) + retries.join()).not.toContain(gh.token);
  });

  it('reads every page of open issues and skips pull requests', async () => {
    for (let i = 1; i <= 103; i++) {
      gh.issues.push({
        number: i,
        title: 't',
        body: '',
        state: 'open',
        state_reason: null,
        labels: ['l'],
        assignees: [],
        comments: [],
        repo: 'acme/app',
      });
    }
    const issues = await client().gh.listOpenIssues(repo, 'l');
    expect(issues).toHaveLength(103);
    expect(gh.requests.map((r) => r.query.page)).toEqual(['1', '2']);
  });
});

describe('postWebhook', () => {
  const hook = (): string => `${gh.url}/webhook?secret=s3cr3t`;

  it('posts the text once', async () => {
    await postWebhook(hook(), { text: 'hi' }, { waitScale: 0 });
    expect(gh.webhooks).toEqual([{ text: 'hi' }]);
  });

  it('does not repeat a post answered 5xx (it may have been delivered), nor show the URL', async () => {
    gh.failNext({ status: 502 });
    const err = await postWebhook(hook(), { text: 'hi' }, { waitScale: 0 }).catch((e) => e);
    expect(err.message).toBe('POST webhook-url answered 502: {"message":"injected 502"}');
    expect(gh.requests).toHaveLength(1);
    expect(String(err) + JSON.stringify(err)).not.toContain('s3cr3t');
  });

  it('retries a 429 and a refused connection', async () => {
    gh.failNext({ status: 429, retryAfter: '2' });
    const retries: string[] = [];
    await postWebhook(hook(), { text: 'hi' }, { waitScale: 0, onRetry: (m) => retries.push(m) });
    expect(gh.webhooks).toHaveLength(1);
    expect(retries).toHaveLength(1);
    const down = `http://127.0.0.1:${await freePort()}/hook`;
    const err = await postWebhook(down, { text: 'hi' }, { waitScale: 0 }).catch((e) => e);
    expect(err.message).toMatch(/^POST webhook-url failed: .*ECONNREFUSED.*\(gave up after 4 attempts\)$/);
  });
});
