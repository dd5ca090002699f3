/**
 * A stand-in for GitHub's REST API (the issues part) on a loopback port, for tests: list open issues by
 * label, search issues, create issues, comment, update/close. It records every request, checks the bearer
 * token, and can be told to answer 500/503/429 for the next requests, to drop connections, or be down.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  state_reason: string | null;
  labels: string[];
  assignees: string[];
  comments: Array<{ id: number; body: string }>;
  repo: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  /** The status answered. */
  status: number;
}

export interface Fault {
  status: number;
  retryAfter?: string;
  /** The answer's message (default "injected <status>"); GitHub's rate limits say "secondary rate limit". */
  message?: string;
  /** Only requests whose `METHOD path` matches. */
  match?: RegExp;
}

export interface FakeGitHub {
  url: string;
  token: string;
  issues: FakeIssue[];
  requests: RecordedRequest[];
  /** Answer the next matching requests with these statuses, in order. */
  failNext(...faults: Fault[]): void;
  /** While true, every connection is destroyed without an answer. */
  setDown(down: boolean): void;
  /** Users that can be assigned; others get 422 (undefined: anyone). */
  assignable?: string[];
  /** Raw bodies POSTed to /webhook (a Slack-style incoming webhook on the same server). */
  webhooks: unknown[];
  stop(): Promise<void>;
}

export async function startFakeGitHub(token = `ghs_test${Date.now()}`): Promise<FakeGitHub> {
  const issues: FakeIssue[] = [];
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const webhooks: unknown[] = [];
  let down = false;
  let nextId = 1000;
  const fake = {} as FakeGitHub;

  const server = http.createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        status: 0,
      };
      requests.push(rec);
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
        rec.status = status;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(payload));
      };
      const fi = faults.findIndex((f) => !f.match || f.match.test(`${rec.method} ${rec.path}`));
      if (fi >= 0) {
        const [f] = faults.splice(fi, 1) as [Fault];
        send(
          f.status,
          { message: f.message ?? `injected ${f.status}` },
          f.retryAfter ? { 'retry-after': f.retryAfter } : {},
        );
        return;
      }
      if (url.pathname === '/webhook' && rec.method === 'POST') {
        webhooks.push(body);
        rec.status = 200;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
        return;
      }
      if (req.headers.authorization !== `Bearer ${token}` && req.headers.authorization !== `token ${token}`) {
        send(401, { message: 'Bad credentials' });
        return;
      }
      route(rec, url, send);
    });
  });

  const view = (i: FakeIssue): Record<string, unknown> => ({
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state,
    state_reason: i.state_reason,
    labels: i.labels.map((name) => ({ name })),
    assignees: i.assignees.map((login) => ({ login })),
    comments: i.comments.length,
    html_url: `https://github.example/${i.repo}/issues/${i.number}`,
  });

  function route(
    rec: RecordedRequest,
    url: URL,
    send: (status: number, payload: unknown, headers?: Record<string, string>) => void,
  ): void {
    const m = /^\/repos\/([^/]+)\/([^/]+)\/issues(?:\/(\d+)(\/comments)?)?$/.exec(url.pathname);
    const body = (rec.body ?? {}) as Record<string, unknown>;
    if (url.pathname === '/search/issues' && rec.method === 'GET') {
      const q = url.searchParams.get('q') ?? '';
      const repo = /repo:(\S+)/.exec(q)?.[1];
      const labels = [...q.matchAll(/label:("([^"]+)"|\S+)/g)].map((x) => x[2] ?? x[1]);
      const open = /is:open/.test(q);
      const words = q
        .replace(/(repo|label|is|in):("[^"]*"|\S+)/g, '')
        .trim()
        .split(/\s+/)
        .filter(Boolean);
      const items = issues.filter(
        (i) =>
          (!repo || i.repo === repo) &&
          (!open || i.state === 'open') &&
          labels.every((l) => i.labels.includes(l as string)) &&
          words.every((w) => i.body.includes(w.replace(/^"|"$/g, ''))),
      );
      send(200, { total_count: items.length, incomplete_results: false, items: items.map(view) });
      return;
    }
    if (!m) {
      send(404, { message: 'Not Found' });
      return;
    }
    const repo = `${m[1]}/${m[2]}`;
    const num = m[3] ? Number(m[3]) : undefined;
    const issue = num === undefined ? undefined : issues.find((i) => i.repo === repo && i.number === num);
    if (num !== undefined && !issue) {
      send(404, { message: 'Not Found' });
      return;
    }
    if (num === undefined && rec.method === 'GET') {
      const state = url.searchParams.get('state') ?? 'open';
      const labels = (url.searchParams.get('labels') ?? '').split(',').filter(Boolean);
      const perPage = Number(url.searchParams.get('per_page') ?? 30);
      const page = Number(url.searchParams.get('page') ?? 1);
      const all = issues
        .filter((i) => i.repo === repo && (state === 'all' || i.state === state))
        .filter((i) => labels.every((l) => i.labels.includes(l)))
        .sort((a, b) => b.number - a.number);
      const slice = all.slice((page - 1) * perPage, page * perPage);
      const headers: Record<string, string> = {};
      if (page * perPage < all.length) {
        const next = new URL(url.toString());
        next.searchParams.set('page', String(page + 1));
        headers.link = `<${fake.url}${next.pathname}${next.search}>; rel="next"`;
      }
      send(200, slice.map(view), headers);
      return;
    }
    if (num === undefined && rec.method === 'POST') {
      const assignees = (body.assignees as string[] | undefined) ?? [];
      const bad = fake.assignable ? assignees.filter((a) => !fake.assignable?.includes(a)) : [];
      if (bad.length) {
        send(422, {
          message: 'Validation Failed',
          errors: [{ resource: 'Issue', field: 'assignees', code: 'invalid', value: bad[0] }],
        });
        return;
      }
      const created: FakeIssue = {
        number: issues.filter((i) => i.repo === repo).length + 1,
        title: String(body.title ?? ''),
        body: String(body.body ?? ''),
        state: 'open',
        state_reason: null,
        labels: (body.labels as string[] | undefined) ?? [],
        assignees,
        comments: [],
        repo,
      };
      issues.push(created);
      send(201, view(created));
      return;
    }
    if (issue && m[4] && rec.method === 'POST') {
      const c = { id: nextId++, body: String(body.body ?? '') };
      issue.comments.push(c);
      send(201, { id: c.id, body: c.body, html_url: `https://github.example/${repo}/issues/${issue.number}#c${c.id}` });
      return;
    }
    if (issue && m[4] && rec.method === 'GET') {
      send(200, issue.comments);
      return;
    }
    if (issue && !m[4] && rec.method === 'PATCH') {
      if (body.state === 'open' || body.state === 'closed') issue.state = body.state;
      if (typeof body.state_reason === 'string') issue.state_reason = body.state_reason;
      if (typeof body.body === 'string') issue.body = body.body;
      if (typeof body.title === 'string') issue.title = body.title;
      send(200, view(issue));
      return;
    }
    if (issue && !m[4] && rec.method === 'GET') {
      send(200, view(issue));
      return;
    }
    send(404, { message: 'Not Found' });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    token,
    issues,
    requests,
    webhooks,
    failNext: (...f: Fault[]) => faults.push(...f),
    setDown: (d: boolean) => {
      down = d;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return fake;
}
