/**
 * fetch through the environment's proxy (see proxy.ts), for Octokit and webhooks. Node's own fetch
 * ignores HTTPS_PROXY unless node starts with NODE_USE_ENV_PROXY, which an action cannot choose; undici's
 * fetch with a ProxyAgent does the same work, one agent per proxy URL. Each attempt gets its own timeout.
 */
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { proxyFor } from './proxy.js';

const agents = new Map<string, ProxyAgent>();

export type Fetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

export function proxyAwareFetch(timeoutMs = 30_000): Fetch {
  return async (url, init = {}) => {
    const signal = init.signal
      ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs);
    const proxy = proxyFor(url);
    if (!proxy) return fetch(url, { ...init, signal });
    let dispatcher = agents.get(proxy);
    if (!dispatcher) {
      dispatcher = new ProxyAgent(proxy);
      agents.set(proxy, dispatcher);
    }
    // undici's Response is the same WHATWG shape as the global one.
    return (await undiciFetch(url, { ...(init as object), signal, dispatcher })) as unknown as Response;
  };
}
