/** Every command, by name. The actions, the root action's `command:` input and the CLI dispatch here. */
import { backupCommand } from './backup.js';
import type { Command } from './command.js';
import { pruneCommand } from './prune.js';

export const COMMANDS: Record<string, Command> = {
  backup: backupCommand,
  prune: pruneCommand,
};

export const ACTION_NAMES = ['backup', 'verify', 'restore', 'prune', 'monitor', 'notify'] as const;
