/**
 * A small forward proxy on a loopback port, for tests of HTTPS_PROXY/HTTP_PROXY: CONNECT tunnels (what
 * clients use for https:// and what undici uses for every URL) and absolute-form requests (what clients
 * send for http:// through a proxy). It records each, by target host:port, so a test can tell what went
 * through it and what went around it.
 */
import http from 'node:http';
import net from 'node:net';

export interface ProxyUse {
  kind: 'connect' | 'forward';
  /** host:port the client asked for. */
  target: string;
}

export interface ConnectProxy {
  url: string;
  uses: ProxyUse[];
  /** Uses whose target is `host:port`. */
  usesOf(target: string): ProxyUse[];
  stop(): Promise<void>;
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const uses: ProxyUse[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    // Absolute form: GET http://host:port/path HTTP/1.1 — forward it and stream the answer back.
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute URL required');
      return;
    }
    uses.push({ kind: 'forward', target: target.host });
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port || 80,
        path: target.pathname + target.search,
        method: req.method,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    uses.push({ kind: 'connect', target });
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    // Tunnelled sockets leave the HTTP server's books: closeAllConnections does not see them.
    for (const s of [upstream, client]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    uses,
    usesOf: (target) => uses.filter((u) => u.target === target),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
