/**
 * Outgoing HTTP(S) through the proxy the environment names, as curl, npm and the runner's tools read it:
 * HTTPS_PROXY for https:// URLs, HTTP_PROXY for http:// URLs (ALL_PROXY for both), NO_PROXY for the hosts
 * (`host`, `.suffix`, `host:port`, `*`) to reach directly; lower-case names too. proxy-from-env makes the
 * decision for every client here (S3, GitHub, webhooks), so one NO_PROXY means the same everywhere.
 */
import type http from 'node:http';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';

/** The proxy URL for a request to `url`, or undefined to connect directly. */
export function proxyFor(url: string | URL): string | undefined {
  return getProxyForUrl(url.toString()) || undefined;
}

/**
 * Node http(s) agents for requests to `url` when a proxy applies (for the AWS SDK's NodeHttpHandler):
 * an https:// target is tunnelled with CONNECT; an http:// one is sent to the proxy in absolute form,
 * which proxies that only allow CONNECT to port 443 still carry.
 */
export function proxyAgentsFor(url: string): { httpAgent?: http.Agent; httpsAgent?: http.Agent } {
  const proxy = proxyFor(url);
  if (!proxy) return {};
  return new URL(url).protocol === 'http:'
    ? { httpAgent: new HttpProxyAgent(proxy, { keepAlive: true }) }
    : { httpsAgent: new HttpsProxyAgent(proxy, { keepAlive: true }) };
}
