/**
 * The bundle's entry (dist/main/index.js). Each dist/<action>/index.js is a two-line wrapper that calls
 * runActionByName with its name; dist/cli/index.js calls runCli.
 * The action runtime (@actions/core and its HTTP client, ~20 MB of resident memory) is loaded only when
 * running as an action, the AWS SDK only for an S3 destination (storage/lazy-s3.ts): pgdr against a local
 * directory loads neither.
 */
import { ACTION_NAMES, COMMANDS } from './commands/index.js';

export { runCli } from './hosts/cli.js';

export async function runActionByName(name: string): Promise<void> {
  const core = await import('@actions/core');
  // The root action passes the command as an input.
  const chosen = name === 'root' ? core.getInput('command').trim().toLowerCase() : name;
  // The root action runs the actions, not the CLI-only commands (keys, keygen), whose inputs it does not declare.
  const command = (ACTION_NAMES as readonly string[]).includes(chosen) ? COMMANDS[chosen] : undefined;
  if (!command) {
    core.setFailed(`'command' must be one of ${ACTION_NAMES.join(', ')} (got '${chosen}')`);
    return;
  }
  const { runAsAction, warnUnusedRootInputs } = await import('./hosts/actions.js');
  if (name === 'root')
    warnUnusedRootInputs(
      command,
      Object.values(COMMANDS).filter((c) => c.spec.action),
    );
  await runAsAction(command);
}
