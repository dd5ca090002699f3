/**
 * An HTTP proxy in front of the test S3 server (or any HTTP service) that misbehaves by script, to test what
 * the product does when the network or the service fails: error statuses with S3 XML bodies, connection
 * resets before or after the upstream handled the request, bodies cut short, delays, `200` answers that
 * carry an `<Error>` (CompleteMultipartUpload), per-key errors in DeleteObjects. It records every request,
 * so tests count attempts instead of timing them.
 *
 * Requests are forwarded byte for byte (method, raw path and query, headers including Host), bodies as
 * streams. Point the product at `proxy.url` as its `s3-endpoint` (path style).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** The S3 operation a request is, from its method and query (enough for the SDK's requests). */
export type S3Operation =
  | 'ListBuckets'
  | 'HeadBucket'
  | 'ListObjectsV2'
  | 'ListMultipartUploads'
  | 'DeleteObjects'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'Other';

export function s3OperationOf(method: string, url: URL): S3Operation {
  const q = url.searchParams;
  const [, bucket, ...rest] = url.pathname.split('/');
  const hasKey = rest.join('/') !== '';
  if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Other';
  if (!hasKey) {
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'GET' && q.has('uploads')) return 'ListMultipartUploads';
    if (method === 'GET' && q.get('list-type') === '2') return 'ListObjectsV2';
    if (method === 'POST' && q.has('delete')) return 'DeleteObjects';
    return 'Other';
  }
  if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'PUT' && q.has('partNumber') && q.has('uploadId')) return 'UploadPart';
  if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'PUT') return 'PutObject';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'DELETE') return 'DeleteObject';
  return 'Other';
}

export interface FaultMatch {
  op?: S3Operation;
  method?: string;
  /** Tested against the decoded path, `/bucket/key`. */
  path?: RegExp;
  /** Query parameters: `true` present, `false` absent, a string equal, a RegExp matching. */
  query?: Record<string, boolean | string | RegExp>;
}

/** Which matching requests the fault hits: the first N (default 1), only the Nth, or every one. */
export type Occurrence = { first: number } | { nth: number } | 'always';

export type FaultAction =
  /** Answer this status with an S3 XML error body, without forwarding. */
  | { kind: 'error'; status: number; code?: string; message?: string }
  /**
   * Destroy the connection. 'request': before forwarding (the service never sees it); 'response': after the
   * service answered, before any header reaches the client (the work was done, the answer is lost).
   */
  | { kind: 'reset'; stage: 'request' | 'response' }
  /** Forward, send the headers (with the full Content-Length) and `afterBytes` bytes of the body, then reset. */
  | { kind: 'truncate'; afterBytes: number }
  /** Wait, then forward. */
  | { kind: 'delay'; ms: number }
  /** Answer `200` with an `<Error>` body (as S3 may on CompleteMultipartUpload); `forward` first if asked. */
  | { kind: 'ok-with-error'; code?: string; message?: string; forward?: boolean }
  /** DeleteObjects: keys matching `keys` are not deleted and come back as `<Error>` entries. */
  | { kind: 'delete-errors'; keys: RegExp; code?: string; message?: string };

export interface FaultRule {
  match: FaultMatch;
  when?: Occurrence;
  action: FaultAction;
}

export interface ProxiedRequest {
  method: string;
  /** The raw request target (path and query), as sent. */
  url: string;
  /** Decoded path, `/bucket/key`. */
  path: string;
  op: S3Operation;
  range?: string;
  /** What the client got: the status, or 0 when the connection was reset before any header. */
  status: number;
  /** The fault applied, if any (its kind). */
  fault?: FaultAction['kind'];
}

export interface FaultProxy {
  url: string;
  requests: ProxiedRequest[];
  /** Adds a rule; returns a handle whose `hits` counts the requests it changed. */
  add(rule: FaultRule): { hits: number };
  /** Forgets all rules and recorded requests. */
  reset(): void;
  /** Recorded requests of one operation (and path). */
  of(op: S3Operation, path?: RegExp): ProxiedRequest[];
  stop(): Promise<void>;
}

const xmlEscape = (s: string): string =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);

const xmlUnescape = (s: string): string =>
  s.replace(/&(lt|gt|amp|apos|quot|#(\d+)|#x([0-9a-f]+));/gi, (_m, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
    return ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' } as Record<string, string>)[name] as string;
  });

function s3ErrorXml(code: string, message: string, extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>${extra}<RequestId>fault-proxy</RequestId></Error>`;
}

const DEFAULT_CODES: Record<number, [string, string]> = {
  400: ['InvalidRequest', 'Injected bad request'],
  403: ['AccessDenied', 'Access Denied'],
  404: ['NoSuchKey', 'The specified key does not exist.'],
  500: ['InternalError', 'We encountered an internal error. Please try again.'],
  503: ['SlowDown', 'Please reduce your request rate.'],
};

function matches(m: FaultMatch, method: string, url: URL, path: string, op: S3Operation): boolean {
  if (m.op && m.op !== op) return false;
  if (m.method && m.method.toUpperCase() !== method) return false;
  if (m.path && !m.path.test(path)) return false;
  for (const [name, want] of Object.entries(m.query ?? {})) {
    const has = url.searchParams.has(name);
    const v = url.searchParams.get(name) ?? '';
    if (want === true ? !has : want === false ? has : typeof want === 'string' ? v !== want : !want.test(v)) {
      return false;
    }
  }
  return true;
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  let rules: Array<{ rule: FaultRule; seen: number; handle: { hits: number } }> = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  /** Sends the request upstream with `body` (a stream or a buffer); resolves with the response. */
  function forward(
    req: http.IncomingMessage,
    body: NodeJS.ReadableStream | Buffer,
    headers: http.IncomingHttpHeaders = req.headers,
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const up = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent },
        resolve,
      );
      up.on('error', reject);
      if (Buffer.isBuffer(body)) up.end(body);
      else body.pipe(up);
    });
  }

  function pickRule(method: string, url: URL, path: string, op: S3Operation): FaultRule | undefined {
    for (const r of rules) {
      if (!matches(r.rule.match, method, url, path, op)) continue;
      r.seen++;
      const when = r.rule.when ?? { first: 1 };
      const hit = when === 'always' || ('first' in when ? r.seen <= when.first : r.seen === when.nth);
      if (hit) {
        r.handle.hits++;
        return r.rule;
      }
    }
    return undefined;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, rec: ProxiedRequest): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://proxy');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      path = url.pathname;
    }
    const op = s3OperationOf(method, url);
    Object.assign(rec, { method, path, op });
    if (typeof req.headers.range === 'string') rec.range = req.headers.range;
    requests.push(rec);
    const rule = pickRule(method, url, path, op);
    const action = rule?.action;
    if (action) rec.fault = action.kind;

    const reply = (status: number, body: string, headers: Record<string, string> = {}): void => {
      rec.status = status;
      const payload = method === 'HEAD' ? '' : body;
      res.writeHead(status, {
        'content-type': 'application/xml',
        'content-length': String(Buffer.byteLength(payload)),
        'x-amz-request-id': 'fault-proxy',
        ...headers,
      });
      res.end(payload);
    };
    const relay = (up: http.IncomingMessage): void => {
      rec.status = up.statusCode ?? 0;
      res.writeHead(up.statusCode ?? 502, up.rawHeaders);
      up.pipe(res);
    };

    if (!action || action.kind === 'delay') {
      if (action) await new Promise((r) => setTimeout(r, action.ms));
      relay(await forward(req, req));
      return;
    }
    switch (action.kind) {
      case 'error': {
        await readAll(req);
        const [code, message] = DEFAULT_CODES[action.status] ?? ['InternalError', 'Injected error'];
        reply(action.status, s3ErrorXml(action.code ?? code, action.message ?? message));
        return;
      }
      case 'reset': {
        if (action.stage === 'request') {
          await readAll(req);
        } else {
          await readAll(await forward(req, req));
        }
        req.socket.destroy();
        return;
      }
      case 'truncate': {
        const up = await forward(req, req);
        rec.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, up.rawHeaders);
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent >= action.afterBytes) return;
          const part = chunk.subarray(0, action.afterBytes - sent);
          sent += part.length;
          if (sent >= action.afterBytes) {
            up.destroy();
            // Cut the connection once these bytes have reached the socket.
            res.write(part, () => req.socket.destroy());
          } else res.write(part);
        });
        // A body no longer than afterBytes arrives whole.
        up.on('end', () => {
          if (sent < action.afterBytes) res.end();
        });
        return;
      }
      case 'ok-with-error': {
        if (action.forward) await readAll(await forward(req, req));
        else await readAll(req);
        reply(
          200,
          s3ErrorXml(
            action.code ?? 'InternalError',
            action.message ?? 'We encountered an internal error. Please try again.',
          ),
        );
        return;
      }
      case 'delete-errors': {
        const body = (await readAll(req)).toString('utf8');
        const failed: string[] = [];
        const kept = body.replace(/<Object>\s*<Key>([\s\S]*?)<\/Key>[\s\S]*?<\/Object>/g, (whole, raw: string) => {
          const key = xmlUnescape(raw);
          if (!action.keys.test(key)) return whole;
          failed.push(key);
          return '';
        });
        const errors = failed
          .map(
            (k) =>
              `<Error><Key>${xmlEscape(k)}</Key><Code>${xmlEscape(action.code ?? 'AccessDenied')}</Code><Message>${xmlEscape(action.message ?? 'Access Denied')}</Message></Error>`,
          )
          .join('');
        if (!/<Object>/.test(kept)) {
          reply(
            200,
            `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${errors}</DeleteResult>`,
          );
          return;
        }
        const out = Buffer.from(kept, 'utf8');
        const headers: http.IncomingHttpHeaders = { ...req.headers, 'content-length': String(out.length) };
        delete headers['content-md5'];
        for (const h of Object.keys(headers)) if (h.startsWith('x-amz-checksum-')) delete headers[h];
        const up = await forward(req, out, headers);
        const text = (await readAll(up)).toString('utf8');
        if ((up.statusCode ?? 0) !== 200) {
          reply(up.statusCode ?? 502, text);
          return;
        }
        reply(200, text.replace('</DeleteResult>', `${errors}</DeleteResult>`));
        return;
      }
    }
  }

  const server = http.createServer((req, res) => {
    const rec: ProxiedRequest = { method: '', url: req.url ?? '/', path: '', op: 'Other', status: 0 };
    handle(req, res, rec).catch((err: unknown) => {
      // The upstream failed us: tell the client so, as a gateway would.
      if (!res.headersSent) {
        rec.status = 502;
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault proxy: upstream failed: ${(err as Error).message}`);
      } else req.socket.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    add(rule) {
      const handle = { hits: 0 };
      rules.push({ rule, seen: 0, handle });
      return handle;
    },
    reset() {
      rules = [];
      requests.length = 0;
    },
    of(op, path) {
      return requests.filter((r) => r.op === op && (!path || path.test(r.path)));
    },
    stop() {
      return new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        agent.destroy();
        server.close(() => resolve());
      });
    },
  };
}
