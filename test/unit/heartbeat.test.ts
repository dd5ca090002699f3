/**
 * The dead-man's switch against a local HTTP server: the start, success and failure pings arrive in each
 * service's URL scheme, and a dead or failing server never throws (the job goes on).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Heartbeat, heartbeatUrl, sendHeartbeat } from '../../src/core/heartbeat.js';
import type { Logger } from '../../src/util/log.js';

interface Ping {
  method: string;
  url: string;
  body: string;
}

let server: http.Server;
let base: string;
const pings: Ping[] = [];
/** Statuses to answer the next requests with (then 200). */
const answers: number[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      pings.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(answers.shift() ?? 200).end('OK');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  pings.length = 0;
  answers.length = 0;
});

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { info: () => {}, warn: (m) => warnings.push(m), debug: () => {}, group: (_t, fn) => fn(), warnings };
}

describe('heartbeatUrl', () => {
  it.each<[Heartbeat['style'], string, string | undefined, string | undefined, string | undefined]>([
    [
      'healthchecks',
      'https://hc-ping.com/abc-123',
      'https://hc-ping.com/abc-123/start',
      'https://hc-ping.com/abc-123',
      'https://hc-ping.com/abc-123/fail',
    ],
    [
      'healthchecks',
      'https://hc-ping.com/abc-123/',
      'https://hc-ping.com/abc-123/start',
      'https://hc-ping.com/abc-123/',
      'https://hc-ping.com/abc-123/fail',
    ],
    [
      'cronitor',
      'https://cronitor.link/p/KEY/nightly',
      'https://cronitor.link/p/KEY/nightly?state=run',
      'https://cronitor.link/p/KEY/nightly?state=complete',
      'https://cronitor.link/p/KEY/nightly?state=fail',
    ],
    ['plain', 'https://nosnch.in/abc', undefined, 'https://nosnch.in/abc', undefined],
  ])('%s %s', (style, url, start, success, fail) => {
    expect(heartbeatUrl({ url, style }, 'start')).toBe(start);
    expect(heartbeatUrl({ url, style }, 'success')).toBe(success);
    expect(heartbeatUrl({ url, style }, 'fail')).toBe(fail);
  });
});

describe('sendHeartbeat against a local server', () => {
  it('pings start, success and failure (with the error as the body) in healthchecks style', async () => {
    const h: Heartbeat = { url: `${base}/ping/uuid-1`, style: 'healthchecks' };
    expect(await sendHeartbeat(h, 'start')).toBe('sent');
    expect(await sendHeartbeat(h, 'success')).toBe('sent');
    expect(await sendHeartbeat(h, 'fail', { message: 'Backup failed (connect): ECONNREFUSED' })).toBe('sent');
    expect(pings).toEqual([
      { method: 'GET', url: '/ping/uuid-1/start', body: '' },
      { method: 'GET', url: '/ping/uuid-1', body: '' },
      { method: 'POST', url: '/ping/uuid-1/fail', body: 'Backup failed (connect): ECONNREFUSED' },
    ]);
  });

  it("pings in Cronitor's scheme", async () => {
    const h: Heartbeat = { url: `${base}/p/KEY/nightly`, style: 'cronitor' };
    await sendHeartbeat(h, 'start');
    await sendHeartbeat(h, 'fail', { message: 'disk full' });
    expect(pings.map((p) => p.url)).toEqual([
      '/p/KEY/nightly?state=run',
      '/p/KEY/nightly?state=fail&message=disk+full',
    ]);
  });

  it('retries an error answer, then gives up with a warning and never throws', async () => {
    const h: Heartbeat = { url: `${base}/ping/uuid-2`, style: 'healthchecks' };
    answers.push(503);
    expect(await sendHeartbeat(h, 'success', { waitScale: 0 })).toBe('sent');
    expect(pings).toHaveLength(2);
    answers.push(500, 500, 500);
    const log = recordingLogger();
    expect(await sendHeartbeat(h, 'success', { waitScale: 0, log })).toBe('failed');
    expect(log.warnings.join()).toMatch(/success ping was not delivered \(answered 500\); the job goes on/);
  });

  it('a dead heartbeat server is a warning without the URL, not an error', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const log = recordingLogger();
    const r = await sendHeartbeat({ url: `http://127.0.0.1:${port}/ping/secret-uuid`, style: 'healthchecks' }, 'fail', {
      waitScale: 0,
      log,
    });
    expect(r).toBe('failed');
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings.join()).not.toContain('secret-uuid');
  });
});
