/**
 * Finding the PostgreSQL client programs and making sure they can handle the server: pg_dump must be
 * the server's major version or newer. On Debian/Ubuntu several majors live side by side under
 * /usr/lib/postgresql/<major>/bin; we pick the oldest one that is new enough.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../util/errors.js';
import { baseEnv } from '../pipeline/process.js';

const execFileP = promisify(execFile);

export interface PgTool {
  path: string;
  /** e.g. "15.18" */
  version: string;
  major: number;
}

export type ToolName = 'pg_dump' | 'pg_restore' | 'psql';

export async function toolVersion(file: string): Promise<PgTool | null> {
  try {
    const { stdout } = await execFileP(file, ['--version'], { timeout: 15_000, env: baseEnv() });
    // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", "psql (PostgreSQL) 17beta1"
    const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(stdout);
    if (!m) return null;
    return { path: file, version: m[2] !== undefined ? `${m[1]}.${m[2]}` : (m[1] as string), major: Number(m[1]) };
  } catch {
    return null;
  }
}

function candidates(tool: ToolName, binDir?: string): string[] {
  if (binDir) return [path.join(binDir, tool)];
  const out: string[] = [];
  const dirs: string[] = [];
  for (const base of ['/usr/lib/postgresql', '/usr/pgsql', '/opt/homebrew/opt', '/usr/local/opt']) {
    if (!fs.existsSync(base)) continue;
    for (const d of fs.readdirSync(base)) {
      if (base.endsWith('postgresql')) dirs.push(path.join(base, d, 'bin'));
      else if (d.startsWith('postgresql@')) dirs.push(path.join(base, d, 'bin'));
    }
  }
  for (const d of fs.existsSync('/usr') ? fs.readdirSync('/usr').filter((d) => d.startsWith('pgsql-')) : []) {
    dirs.push(path.join('/usr', d, 'bin'));
  }
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) if (d) dirs.push(d);
  for (const d of dirs) {
    const f = path.join(d, tool);
    if (fs.existsSync(f) && !out.includes(f)) out.push(f);
  }
  return out;
}

/** Every working copy of `tool` found (in `binDir` only, when given), with its version. */
export async function installedTools(tool: ToolName, binDir?: string): Promise<PgTool[]> {
  return (await Promise.all(candidates(tool, binDir).map(toolVersion))).filter((t): t is PgTool => t !== null);
}

/**
 * The client tool to use against a server of major `serverMajor`: the oldest installed major that is at
 * least the server's (the closest match), else a UserError saying exactly what to install.
 */
export async function findTool(
  tool: ToolName,
  serverMajor: number | undefined,
  binDir?: string,
  input = 'pg-bin-dir',
): Promise<PgTool> {
  const found = await installedTools(tool, binDir);
  if (found.length === 0) {
    throw new UserError(
      binDir
        ? `'${input}': no working ${tool} in ${binDir}`
        : `${tool} not found: install the PostgreSQL client (e.g. apt-get install postgresql-client) or set '${input}'`,
    );
  }
  if (serverMajor === undefined) return found.sort((a, b) => b.major - a.major)[0] as PgTool;
  const fit = found.filter((t) => t.major >= serverMajor).sort((a, b) => a.major - b.major);
  if (fit[0]) return fit[0];
  const newest = found.sort((a, b) => b.major - a.major)[0] as PgTool;
  throw new UserError(
    `${tool} ${newest.version} (${newest.path}) is older than the server (PostgreSQL ${serverMajor}) and cannot ${
      tool === 'pg_dump' ? 'dump it' : 'be trusted with its output'
    }: install the PostgreSQL ${serverMajor} client — on Debian/Ubuntu: ` +
      `sudo apt-get install -y postgresql-common && sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y && sudo apt-get install -y postgresql-client-${serverMajor}` +
      ` — or point '${input}' at a directory holding ${tool} ${serverMajor} or newer`,
  );
}
