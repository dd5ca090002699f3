/** The prune action: inputs → runPrune → outputs and a summary of every backup and why it stays or goes. */

import { validateName } from '../core/layout.js';
import { type PruneConfig, type PruneResult, runPrune } from '../core/prune.js';
import type { CommandResult, Report, ReportTable } from '../core/report.js';
import {
  DEFAULT_POLICY,
  RETENTION_RULES,
  type RetentionPolicy,
  RULE_INPUT,
  validatePolicy,
} from '../core/retention.js';
import { UserError } from '../util/errors.js';
import { formatBytes, formatDuration, formatTime, parseBoolean, parseDuration, parseIntInput } from '../util/units.js';
import type { Command } from './command.js';
import {
  AUTH_PASSPHRASE_INPUT,
  destinationInputs,
  type InputGetter,
  readAuthKeys,
  readDestination,
  requireAuthKeys,
  SIGNING_PUBLIC_KEY_INPUT,
  storageFor,
} from './inputs.js';
import { boundInputs, COMMON_FAILURE_KINDS, type CommandSpec, failureOutputs } from './schema.js';

const PRUNE_FAILURE_KINDS: Record<string, string> = {
  config: COMMON_FAILURE_KINDS.config as string,
  storage: 'the storage could not be listed, read or deleted from (a partial listing deletes nothing)',
  lock: 'a backup of the set is running',
  cancelled: COMMON_FAILURE_KINDS.cancelled as string,
  other: COMMON_FAILURE_KINDS.other as string,
};

/** Rows beyond this are summarised, to keep the job summary well under GitHub's 1 MiB per step. */
const MAX_TABLE_ROWS = 2000;

export function readPruneConfig(raw: InputGetter): {
  config: PruneConfig;
  destination: ReturnType<typeof readDestination>;
} {
  const get = boundInputs(pruneSpec, raw);
  const destination = readDestination(get);
  const rawName = get('name');
  if (!rawName) throw new UserError(`'name' is required: the backup set to prune (the 'name' output of backup)`);
  const name = validateName(rawName);
  const policy = { ...DEFAULT_POLICY };
  for (const rule of RETENTION_RULES) {
    policy[rule] = parseIntInput(get(RULE_INPUT[rule]), RULE_INPUT[rule], { min: 0, max: 1_000_000 });
  }
  validatePolicy(policy);
  const dryRun = parseBoolean(get('dry-run'), 'dry-run');
  const minAgeIncompleteSeconds = parseDuration(get('min-age-incomplete'), 'min-age-incomplete');
  const authKeys = requireAuthKeys(readAuthKeys(get), 'prune');
  return {
    destination,
    config: { prefix: destination.destination.prefix, name, policy, dryRun, minAgeIncompleteSeconds, authKeys },
  };
}

function policyText(p: RetentionPolicy): string {
  return RETENTION_RULES.filter((r) => p[r] > 0)
    .map((r) => `${r} ${p[r]}`)
    .join(', ');
}

/**
 * One row per backup: its decision first, with an icon so kept and deleted rows tell apart at a glance.
 * The time is the backup's identity (its key is derived from it and is in the deleted-keys output).
 */
function backupTable(r: PruneResult): ReportTable {
  const lockedKeys = new Set(r.locked.map((l) => l.key));
  const deleteWord = r.dryRun ? '🗑️ would delete' : '🗑️ deleted';
  const rows = r.decisions.slice(0, MAX_TABLE_ROWS).map((d) => {
    const locked = !d.keep && lockedKeys.has(d.backup.manifestKey);
    return [
      d.keep ? '✅ keep' : locked ? '🔒 kept (Object Lock)' : deleteWord,
      formatTime(d.backup.manifest.createdAt),
      formatBytes(d.backup.data.size),
      d.reasons.join(', ') || '—',
    ];
  });
  return {
    title: 'Backups',
    header: ['Decision', 'Backup time', 'Size', 'Kept by'],
    rows,
    total: r.decisions.length,
    maxRows: MAX_TABLE_ROWS,
    rest: 'the deleted-keys output lists every key deleted',
  };
}

export const pruneSpec: CommandSpec = {
  name: 'prune',
  summary: 'apply the retention policy (keep-last/daily/weekly/monthly/yearly), delete the rest',
  action: {
    name: 'postgres-dr prune',
    description:
      'Apply a retention policy (keep-last/daily/weekly/monthly/yearly, restic semantics, UTC) to one backup set: delete the backups no rule keeps, and the data objects of interrupted runs. Reads every listing page before deleting anything.',
    icon: 'trash-2',
    color: 'blue',
  },
  inputs: {
    ...destinationInputs('s3://bucket/prefix, or a local directory path: the same as given to backup.', {
      required: true,
    }),
    name: {
      description:
        'The backup set to prune (the name output of backup; by default backup names the set after the database). Other sets are never touched, even db10 next to db1.',
      required: true,
    },
    'keep-last': {
      description: 'Keep the N most recent backups.',
      default: String(DEFAULT_POLICY.last),
      type: 'integer',
    },
    'keep-daily': {
      description: 'For the last N UTC days that have a backup, keep the newest backup of each day.',
      default: String(DEFAULT_POLICY.daily),
      type: 'integer',
    },
    'keep-weekly': {
      description: 'For the last N ISO weeks (UTC) that have a backup, keep the newest backup of each week.',
      default: String(DEFAULT_POLICY.weekly),
      type: 'integer',
    },
    'keep-monthly': {
      description: 'For the last N UTC months that have a backup, keep the newest backup of each month.',
      default: String(DEFAULT_POLICY.monthly),
      type: 'integer',
    },
    'keep-yearly': {
      description: 'For the last N UTC years that have a backup, keep the newest backup of each year.',
      default: String(DEFAULT_POLICY.yearly),
      type: 'integer',
    },
    'dry-run': { description: 'Only report what would be deleted; delete nothing.', default: 'false', type: 'boolean' },
    'min-age-incomplete': {
      description:
        'A data object without manifest (an interrupted backup) is deleted once both its key time and its last-modified time are older than this (e.g. 24h, 7d). Keep it longer than your longest backup run.',
      default: '24h',
      type: 'duration',
    },
    ...AUTH_PASSPHRASE_INPUT,
    ...SIGNING_PUBLIC_KEY_INPUT,
  },
  failureKinds: PRUNE_FAILURE_KINDS,
  outputs: {
    kept: { description: 'Number of backups kept.' },
    deleted: { description: 'Number of backups deleted (in a dry run: that would be deleted).' },
    'deleted-keys': {
      description:
        'JSON array of the object keys deleted (in a dry run: that would be deleted): manifests first, then data objects, then their authenticators (.sig).',
    },
    'incomplete-deleted': {
      description: 'Number of data objects without manifest deleted (in a dry run: that would be deleted).',
    },
    'dry-run': { description: 'true when nothing was deleted because dry-run was set.' },
    ...failureOutputs(PRUNE_FAILURE_KINDS),
  },
};

export const pruneCommand: Command = {
  spec: pruneSpec,
  classifyFailure: (err) => (err instanceof Error && err.name === 'LockHeldError' ? 'lock' : undefined),
  async run(get, ctx): Promise<CommandResult> {
    const { config, destination } = readPruneConfig(get);
    const storage = storageFor(destination);
    const r = await runPrune(config, { storage, log: ctx.log, signal: ctx.signal });
    return {
      outputs: {
        kept: r.decisions.length - r.deletedBackups.length,
        deleted: r.deletedBackups.length,
        'deleted-keys': JSON.stringify(r.deletedKeys),
        'incomplete-deleted': r.incompleteDeleted.length,
        'dry-run': r.dryRun,
      },
      warnings: r.warnings,
      report: pruneReport(r, config),
    };
  },
};

export function pruneReport(r: PruneResult, config: PruneConfig): Report {
  const kept = r.decisions.length - r.deletedBackups.length;
  const freed =
    r.deletedBackups.reduce((s, b) => s + b.data.size, 0) + r.incompleteDeleted.reduce((s, i) => s + i.data.size, 0);
  const verb = r.dryRun ? 'would be deleted' : 'deleted';
  const tables: ReportTable[] = [backupTable(r)];
  if (r.incomplete.length) {
    tables.push({
      title: 'Data objects without manifest (interrupted runs)',
      header: ['Decision', 'Object', 'Size', 'Age'],
      rows: r.incomplete.map((i) => [
        i.action === 'keep'
          ? `✅ keep (younger than min-age-incomplete ${formatDuration(config.minAgeIncompleteSeconds)})`
          : r.dryRun
            ? '🗑️ would delete'
            : r.incompleteDeleted.includes(i.item)
              ? '🗑️ deleted'
              : '🔒 kept (Object Lock)',
        i.item.data.key,
        formatBytes(i.item.data.size),
        formatDuration(Math.max(0, i.ageSeconds)),
      ]),
    });
  }
  if (r.broken.length) {
    tables.push({
      title: 'Broken manifests (left alone)',
      header: ['Manifest', 'Problem'],
      rows: r.broken.map((b) => [b.manifestKey, b.reason]),
    });
  }
  if (r.unauthenticated.length) {
    tables.push({
      title: 'Manifests that do not authenticate (left alone, in no retention slot)',
      header: ['Manifest', 'Why'],
      rows: r.unauthenticated.map((u) => [u.manifestKey, u.reason]),
    });
  }
  return {
    title: `${r.dryRun ? 'Prune dry run' : 'Prune'} of ${config.name}`,
    status: r.warnings.length ? 'warning' : 'success',
    headline: `${kept} backup(s) kept, ${r.deletedBackups.length} ${verb}, ${r.incompleteDeleted.length} incomplete object(s) ${verb}${r.dryRun ? ' (dry run: nothing was deleted)' : ''}`,
    facts: [
      ['Backup set', config.name],
      ['Location', `${r.location}/${config.prefix ? `${config.prefix}/` : ''}${config.name}/`],
      ['Policy', policyText(config.policy)],
      ['Backups', `${r.decisions.length} (${kept} kept, ${r.deletedBackups.length} ${verb})`],
      ['Space freed', `${formatBytes(freed)}${r.dryRun ? ' (would be)' : ''}`],
      ...(r.locked.length ? ([['Kept by Object Lock', String(r.locked.length)]] as Array<[string, string]>) : []),
    ],
    tables,
  };
}
