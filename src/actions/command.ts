import type { InputGetter } from '../core/inputs.js';
import type { CommandResult } from '../core/report.js';
import type { Logger } from '../util/log.js';

export interface CommandContext {
  log: Logger;
  signal: AbortSignal;
  /** 'action' when run by the Actions runner, 'cli' for pgdr. */
  host: 'action' | 'cli';
}

/**
 * One command (backup, verify, …): reads its inputs through `get` (validating all of them before any
 * I/O), calls the core, and returns outputs and a report. The action runtime and the CLI both run it.
 */
export interface Command {
  name: string;
  description: string;
  run(get: InputGetter, ctx: CommandContext): Promise<CommandResult>;
}
