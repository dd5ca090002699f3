/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY: S3 (the s3rver test server, plain http://, so the absolute-form
 * path), GitHub's API (the REST stand-in) and a webhook all go through a local forward proxy when the
 * environment names one, and NO_PROXY exempts a host:port.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OctokitIssues } from '../../src/core/github/octokit.js';
import { S3Storage } from '../../src/core/storage/s3.js';
import { postWebhook } from '../../src/core/webhook.js';
import { type ConnectProxy, startConnectProxy } from '../harness/connect-proxy.js';
import { s3Endpoint } from '../harness/context.js';
import { type FakeGitHub, startFakeGitHub } from '../harness/github-api.js';
import { createBucket } from '../harness/s3.js';

const VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
let proxy: ConnectProxy;
let gh: FakeGitHub;
const saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));

beforeAll(async () => {
  gh = await startFakeGitHub();
});
afterAll(async () => {
  await gh.stop();
});
// A proxy per test: clients keep their tunnels open, so a second test would see no new CONNECT.
beforeEach(async () => {
  proxy = await startConnectProxy();
  gh.requests.length = 0;
});
afterEach(async () => {
  for (const v of VARS) {
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
  }
  await proxy.stop();
});

const hostOf = (url: string): string => new URL(url).host;

async function touchAll(bucket: string): Promise<void> {
  const s3 = new S3Storage({ bucket, endpoint: s3Endpoint(), forcePathStyle: true });
  await s3.writeText('proxy/x.txt', 'hello');
  expect(await s3.readText('proxy/x.txt')).toBe('hello');
  const github = new OctokitIssues({ apiUrl: gh.url, token: gh.token, waitScale: 0 });
  await github.listOpenIssues({ owner: 'acme', repo: 'app' }, 'backup-failure');
  await postWebhook(`${gh.url}/webhook`, { text: 'via proxy' }, { waitScale: 0 });
}

describe('proxy from the environment', () => {
  it('sends S3, GitHub and webhook requests through HTTP_PROXY (lower-case names too)', async () => {
    const bucket = await createBucket(s3Endpoint());
    process.env.http_proxy = proxy.url;
    await touchAll(bucket);
    // s3rver is http://: the SDK's agent sends absolute-form requests; undici tunnels with CONNECT.
    expect(proxy.usesOf(hostOf(s3Endpoint())).length).toBeGreaterThanOrEqual(2);
    expect(proxy.usesOf(hostOf(s3Endpoint())).every((u) => u.kind === 'forward')).toBe(true);
    expect(proxy.usesOf(hostOf(gh.url)).length).toBeGreaterThanOrEqual(1);
    expect(gh.webhooks).toContainEqual({ text: 'via proxy' });
    expect(gh.requests.map((r) => r.path)).toEqual(['/repos/acme/app/issues', '/webhook']);
  });

  it('NO_PROXY exempts a host:port; HTTPS_PROXY alone leaves http:// direct', async () => {
    const bucket = await createBucket(s3Endpoint());
    process.env.HTTP_PROXY = proxy.url;
    process.env.NO_PROXY = `example.invalid, ${hostOf(s3Endpoint())}`;
    await touchAll(bucket);
    expect(proxy.usesOf(hostOf(s3Endpoint()))).toEqual([]);
    expect(proxy.usesOf(hostOf(gh.url)).length).toBeGreaterThanOrEqual(1);

    await proxy.stop();
    proxy = await startConnectProxy();
    delete process.env.HTTP_PROXY;
    delete process.env.NO_PROXY;
    process.env.HTTPS_PROXY = proxy.url;
    await touchAll(bucket);
    expect(proxy.uses).toEqual([]);
  });
});
