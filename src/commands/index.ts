/** Every command, by name. The actions, the root action's `command:` input and the CLI dispatch here. */
import { backupCommand } from './backup.js';
import type { Command } from './command.js';
import { keygenCommand } from './keygen.js';
import { keysCommand } from './keys.js';
import { monitorCommand } from './monitor.js';
import { notifyCommand } from './notify.js';
import { pruneCommand } from './prune.js';
import { restoreCommand } from './restore.js';
import { verifyCommand } from './verify.js';

export const COMMANDS: Record<string, Command> = {
  backup: backupCommand,
  prune: pruneCommand,
  notify: notifyCommand,
  monitor: monitorCommand,
  verify: verifyCommand,
  restore: restoreCommand,
  // CLI-only (no action.yml): key management.
  keys: keysCommand,
  keygen: keygenCommand,
};

export const ACTION_NAMES = ['backup', 'verify', 'restore', 'prune', 'monitor', 'notify'] as const;
