/**
 * A dead-man's switch: pings a monitoring service (healthchecks.io, Cronitor, …) when a backup starts and
 * when the run ends, so that a run that never happens (a paused schedule, a disabled workflow, a runner
 * that never picks the job up) raises an alert there: silence is what it watches for. A ping is best
 * effort: a few quick attempts, then a warning; it never fails the job. The URL holds the check's secret
 * token and is never logged (the hosts mask it; errors are redacted).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { Fetch } from '../util/proxy-fetch.js';
import { redact } from '../util/secrets.js';

/**
 * - healthchecks: healthchecks.io's scheme (also self-hosted Healthchecks): `<url>/start`, `<url>`, `<url>/fail`.
 * - cronitor: Cronitor's telemetry URL with `?state=run|complete|fail`.
 * - plain: the URL as is, on success only (Dead Man's Snitch, Uptime Kuma push, Better Stack heartbeats).
 */
export const HEARTBEAT_STYLES = ['healthchecks', 'cronitor', 'plain'] as const;
export type HeartbeatStyle = (typeof HEARTBEAT_STYLES)[number];
export type HeartbeatEvent = 'start' | 'success' | 'fail';

export interface Heartbeat {
  url: string;
  style: HeartbeatStyle;
}

/** The URL to request for `event`, or undefined when the style has no such ping. */
export function heartbeatUrl(h: Heartbeat, event: HeartbeatEvent): string | undefined {
  if (h.style === 'plain') return event === 'success' ? h.url : undefined;
  if (h.style === 'cronitor') {
    const u = new URL(h.url);
    u.searchParams.set('state', event === 'start' ? 'run' : event === 'success' ? 'complete' : 'fail');
    return u.toString();
  }
  if (event === 'success') return h.url;
  const u = new URL(h.url);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/${event}`;
  return u.toString();
}

export interface HeartbeatOptions {
  fetch?: Fetch;
  /** Attempts, the first included. Default 3. */
  attempts?: number;
  /** Per attempt. Default 5 s: a heartbeat must not hold up the job. */
  timeoutMs?: number;
  /** Multiplies every wait between attempts (1 s, 2 s); tests pass 0. */
  waitScale?: number;
  /** Shown by the service with the ping (healthchecks: the request body; Cronitor: `message`). */
  message?: string;
  log?: Logger;
}

/** Pings; never throws. 'skipped' when the style has no ping for this event. */
export async function sendHeartbeat(
  h: Heartbeat,
  event: HeartbeatEvent,
  o: HeartbeatOptions = {},
): Promise<'sent' | 'failed' | 'skipped'> {
  let url: string | undefined;
  try {
    url = heartbeatUrl(h, event);
  } catch (err) {
    o.log?.warn(`heartbeat-url: ${redact(describeError(err))}`);
    return 'failed';
  }
  if (!url) return 'skipped';
  const message = o.message ? redact(o.message).slice(0, 1000) : undefined;
  if (message && h.style === 'cronitor') {
    const u = new URL(url);
    u.searchParams.set('message', message);
    url = u.toString();
  }
  // Loaded only when a heartbeat is configured: undici is not needed otherwise.
  const doFetch = o.fetch ?? (await import('../util/proxy-fetch.js')).proxyAwareFetch(o.timeoutMs ?? 5_000);
  const attempts = o.attempts ?? 3;
  const post = h.style === 'healthchecks' && message !== undefined;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await doFetch(url, {
        method: post ? 'POST' : 'GET',
        headers: { 'user-agent': 'postgres-dr', ...(post ? { 'content-type': 'text/plain; charset=utf-8' } : {}) },
        body: post ? message : undefined,
      });
      await res.body?.cancel().catch(() => {});
      if (res.ok) {
        o.log?.info(`heartbeat: ${event} ping sent`);
        return 'sent';
      }
      last = `answered ${res.status}`;
    } catch (err) {
      last = describeError(err);
    }
    // A repeated ping is harmless (the service records the latest), so every failure is retried.
    if (attempt < attempts) await sleep(1000 * 2 ** (attempt - 1) * (o.waitScale ?? 1));
  }
  o.log?.warn(redact(`heartbeat: the ${event} ping was not delivered (${last}); the job goes on`));
  return 'failed';
}
