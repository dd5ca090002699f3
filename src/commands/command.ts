import type { PgClientInstaller } from '../core/postgres/install.js';
import type { CommandResult } from '../core/report.js';
import { UserError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { InputGetter } from './inputs.js';

export interface CommandContext {
  log: Logger;
  signal: AbortSignal;
  /**
   * Installs a missing or too-old PostgreSQL client. The Actions host provides one (GitHub's Linux
   * runners); the CLI does not, and the error says what to install.
   */
  pgClientInstaller?: PgClientInstaller;
}

/**
 * `PGDR_PROGRESS_SECONDS`: how often long work (dump, restore) logs bytes and rate; default 10 s.
 * Undefined when unset, so the core's default applies.
 */
export function progressIntervalMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.PGDR_PROGRESS_SECONDS?.trim();
  if (!raw) return undefined;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > 3600) {
    throw new UserError(
      `PGDR_PROGRESS_SECONDS must be a number of seconds between 0 and 3600 (got '${raw}'); unset it for every 10 s`,
    );
  }
  return s * 1000;
}

/**
 * One command (backup, verify, …): reads its inputs through `get` (validating all of them before any
 * I/O), calls the core, and returns outputs and a report. The action runtime and the CLI both run it.
 */
export interface Command {
  name: string;
  description: string;
  /**
   * The command streams a database dump through the process (backup, verify, restore): the host runs
   * the memory governor (util/memory.ts) for it. Other commands leave collection to V8.
   */
  streaming?: boolean;
  run(get: InputGetter, ctx: CommandContext): Promise<CommandResult>;
}
