/** The one place that talks to the Actions runner: inputs, outputs, summary, secrets, cancel, failure. */
import * as core from '@actions/core';
import { type Command, failureOfError, failureOfResult } from '../commands/command.js';
import { boundInputs, type InputGetter } from '../commands/schema.js';
import { type Report, reportOf, reportToMarkdown } from '../core/report.js';
import { CancelledError, describeError, UserError } from '../util/errors.js';
import { type Logger, neutraliseWorkflowCommands } from '../util/log.js';
import { startMemoryGovernor } from '../util/memory.js';
import { onSecret, redact } from '../util/secrets.js';
import { actionsPgClientInstaller } from './actions-installer.js';

export const getInput: InputGetter = (name) => core.getInput(name).trim();

/**
 * The root action declares every action's inputs; warns about those given that `command` does not take
 * (a typo in `command`, or an input meant for another action), so they are not silently ignored.
 */
export function warnUnusedRootInputs(command: Command, all: readonly Command[]): void {
  const unused = new Set<string>();
  for (const other of all) {
    for (const [name, input] of Object.entries(other.spec.inputs)) {
      if (name in command.spec.inputs || input.actionDefault) continue;
      if (getInput(name)) unused.add(name);
    }
  }
  if (unused.size) {
    core.warning(
      `'${command.spec.name}' does not take ${[...unused].map((n) => `'${n}'`).join(', ')}: remove ${unused.size > 1 ? 'them' : 'it'} from 'with:' or check 'command'`,
    );
  }
}

export const actionsLogger: Logger = {
  // core.info prints as is; warning, debug, group and setFailed escape newlines themselves.
  info: (m) => core.info(neutraliseWorkflowCommands(redact(m))),
  warn: (m) => core.warning(redact(m)),
  debug: (m) => core.debug(redact(m)),
  group: (title, fn) => core.group(title, fn),
};

async function writeSummary(report: Report): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  try {
    await core.summary.addRaw(redact(reportToMarkdown(report)), true).write();
  } catch (err) {
    core.warning(`could not write the job summary: ${describeError(err)}`);
  }
}

/**
 * Runs one command as an action: secrets go to core.setSecret, SIGINT/SIGTERM (the runner's cancel)
 * become an AbortSignal, and any error becomes one failed step with a message free of secrets.
 */
export async function runAsAction(command: Command): Promise<void> {
  onSecret((s) => core.setSecret(s));
  const controller = new AbortController();
  const cancel = (sig: string): void => {
    core.warning(`received ${sig}: cancelling and cleaning up`);
    controller.abort(new CancelledError(`cancelled by ${sig}`));
  };
  process.once('SIGINT', () => cancel('SIGINT'));
  process.once('SIGTERM', () => cancel('SIGTERM'));
  const stopGovernor = command.streaming ? startMemoryGovernor() : () => {};
  try {
    const result = await command.run(boundInputs(command.spec, getInput), {
      log: actionsLogger,
      signal: controller.signal,
      pgClientInstaller: actionsPgClientInstaller,
    });
    const failure = failureOfResult(result);
    for (const [k, v] of Object.entries({ ...result.outputs, ...failure })) {
      core.setOutput(k, typeof v === 'string' ? redact(v) : String(v));
    }
    for (const w of result.warnings ?? []) core.warning(redact(w));
    await writeSummary(result.report);
    if (result.failure) core.setFailed(redact(result.failure));
  } catch (err) {
    // On every failure path, also a UserError before any I/O: what failed, for notify's `error`/`failure-kind`.
    for (const [k, v] of Object.entries(failureOfError(command, err))) core.setOutput(k, v);
    const message = redact(err instanceof UserError ? err.message : describeError(err));
    if (!(err instanceof UserError) && err instanceof Error && err.stack) core.debug(redact(err.stack));
    await writeSummary(
      reportOf(err) ?? {
        title: `${command.spec.name} failed`,
        status: 'failure',
        headline: message,
        facts: [],
        tables: [],
      },
    );
    core.setFailed(message);
  } finally {
    stopGovernor();
  }
}
