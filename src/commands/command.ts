import { describeFailure, type FailureOutputs, failureLine } from '../core/failure.js';
import type { PgClientInstaller } from '../core/postgres/install.js';
import type { CommandResult } from '../core/report.js';
import { UserError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { COMMON_FAILURE_KINDS, type CommandSpec, type InputGetter } from './schema.js';

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
  spec: CommandSpec;
  /** Streams a database through the process (backup, verify, restore): the hosts start the memory governor. */
  streaming?: boolean;
  /**
   * The command's own rules for a thrown error's `failure-kind` (one of spec.failureKinds), tried after
   * cancelled/config and before the shared ones (storage, integrity, permission, connect); see core/failure.ts.
   */
  classifyFailure?(err: unknown): string | undefined;
  /** `get` is bound to `spec` (hosts wrap their raw getter with boundInputs). */
  run(get: InputGetter, ctx: CommandContext): Promise<CommandResult>;
}

/** `error` and `failure-kind` for an error a command threw (a UserError before any I/O included). */
export function failureOfError(command: Command, err: unknown): FailureOutputs {
  return describeFailure(err, Object.keys(command.spec.failureKinds ?? COMMON_FAILURE_KINDS), (e) =>
    command.classifyFailure?.(e),
  );
}

/** `error` and `failure-kind` for a command that ran to the end with a failure verdict. */
export function failureOfResult(result: CommandResult): FailureOutputs | undefined {
  if (!result.failure) return undefined;
  const error = typeof result.outputs.error === 'string' && result.outputs.error ? result.outputs.error : '';
  const kind = result.failureKind ?? String(result.outputs['failure-kind'] ?? '');
  return { error: error || failureLine(result.failure), 'failure-kind': kind || 'other' };
}
