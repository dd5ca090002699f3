/**
 * Temporary GnuPG homes for tests. gpg starts a gpg-agent per home that outlives the gpg command: whoever
 * makes a home removes it with removeGnupgHome, which stops that home's agents (and only those) first.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function createGnupgHome(prefix = 'gnupg-'): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(home, 0o700);
  return home;
}

/** Stops the home's gpg-agent (and any other gpg daemon of that home), then deletes the home. */
export function removeGnupgHome(home: string): void {
  try {
    execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
  } catch {
    // no daemon was running
  }
  fs.rmSync(home, { recursive: true, force: true });
}

/** Runs `fn` with a fresh home, removed afterwards whatever happens. */
export function withGnupgHome<T>(fn: (home: string) => T, prefix?: string): T {
  const home = createGnupgHome(prefix);
  try {
    return fn(home);
  } finally {
    removeGnupgHome(home);
  }
}

/**
 * The homes (below `root`) of gpg-agents still running, each stopped through gpgconf. The process table is
 * only read here; the agents are stopped by home, and only homes below `root`, which this run made.
 */
export function leftoverGpgAgents(root: string): string[] {
  const homes = new Set<string>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone
    }
    if (path.basename(argv[0] ?? '') !== 'gpg-agent') continue;
    const at = argv.indexOf('--homedir');
    const home = at >= 0 ? argv[at + 1] : undefined;
    if (home?.startsWith(`${root}${path.sep}`)) homes.add(home);
  }
  for (const home of homes) {
    try {
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  return [...homes].sort();
}
