/** Every command, by name. The actions, the root action's `command:` input and the CLI dispatch here. */
import { backupCommand } from './backup.js';
import type { Command } from './command.js';
import { keygenCommand } from './keygen.js';
import { keysCommand } from './keys.js';
import { listCommand } from './list.js';
import { monitorCommand } from './monitor.js';
import { notifyCommand } from './notify.js';
import { pruneCommand } from './prune.js';
import { restoreCommand } from './restore.js';
import { synthCommand } from './synth.js';
import { verifyCommand } from './verify.js';

/** In the order the docs and `pgdr --help` list them. */
export const COMMAND_LIST: readonly Command[] = [
  backupCommand,
  verifyCommand,
  restoreCommand,
  pruneCommand,
  monitorCommand,
  notifyCommand,
  listCommand,
  keysCommand,
  keygenCommand,
  synthCommand,
];

export const COMMANDS: Readonly<Record<string, Command>> = Object.fromEntries(
  COMMAND_LIST.map((c) => [c.spec.name, c]),
);

/** The commands that are GitHub Actions (actions/<name>/action.yml); the others are CLI-only. */
export const ACTION_NAMES: readonly string[] = COMMAND_LIST.filter((c) => c.spec.action).map((c) => c.spec.name);
