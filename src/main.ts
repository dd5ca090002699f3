/**
 * The bundle's entry (dist/main/index.js). Each dist/<action>/index.js is a two-line wrapper that calls
 * runActionByName with its name; dist/cli/index.js calls runCli.
 */
import * as core from '@actions/core';
import { ACTION_NAMES, COMMANDS } from './actions/index.js';
import { runAsAction } from './actions/runtime.js';

export { runCli } from './cli.js';

export async function runActionByName(name: string): Promise<void> {
  // The root action passes the command as an input.
  const chosen = name === 'root' ? core.getInput('command').trim().toLowerCase() : name;
  // The root action runs the actions, not the CLI-only commands (keys, keygen), whose inputs it does not declare.
  const command = (ACTION_NAMES as readonly string[]).includes(chosen) ? COMMANDS[chosen] : undefined;
  if (!command) {
    core.setFailed(`'command' must be one of ${ACTION_NAMES.join(', ')} (got '${chosen}')`);
    return;
  }
  await runAsAction(command);
}
