/** The prune action: inputs → runPrune → outputs and a summary of every backup and why it stays or goes. */

import { validateName } from '../core/layout.js';
import { type PruneConfig, type PruneResult, runPrune } from '../core/prune.js';
import type { CommandResult, ReportTable } from '../core/report.js';
import {
  DEFAULT_POLICY,
  RETENTION_RULES,
  type RetentionPolicy,
  RULE_INPUT,
  validatePolicy,
} from '../core/retention.js';
import { UserError } from '../util/errors.js';
import { formatBytes, formatDuration, parseBoolean, parseDuration, parseIntInput } from '../util/units.js';
import type { Command } from './command.js';
import { type InputGetter, readDestination, storageFor } from './inputs.js';

/** Rows beyond this are summarised, to keep the job summary well under GitHub's 1 MiB per step. */
const MAX_TABLE_ROWS = 2000;

export function readPruneConfig(get: InputGetter): {
  config: PruneConfig;
  destination: ReturnType<typeof readDestination>;
} {
  const destination = readDestination(get);
  const rawName = get('name');
  if (!rawName) throw new UserError(`'name' is required: the backup set to prune (the 'name' output of backup)`);
  const name = validateName(rawName);
  const policy = { ...DEFAULT_POLICY };
  for (const rule of RETENTION_RULES) {
    const v = get(RULE_INPUT[rule]);
    if (v) policy[rule] = parseIntInput(v, RULE_INPUT[rule], { min: 0, max: 1_000_000 });
  }
  validatePolicy(policy);
  const dryRun = get('dry-run') ? parseBoolean(get('dry-run'), 'dry-run') : false;
  const minAgeIncompleteSeconds = parseDuration(get('min-age-incomplete') || '24h', 'min-age-incomplete');
  return {
    destination,
    config: { prefix: destination.destination.prefix, name, policy, dryRun, minAgeIncompleteSeconds },
  };
}

function policyText(p: RetentionPolicy): string {
  return RETENTION_RULES.filter((r) => p[r] > 0)
    .map((r) => `${r} ${p[r]}`)
    .join(', ');
}

function backupTable(r: PruneResult): ReportTable {
  const lockedKeys = new Set(r.locked.map((l) => l.key));
  const rows: string[][] = [];
  const deleteWord = r.dryRun ? 'would delete' : 'deleted';
  let hidden = 0;
  for (const d of r.decisions) {
    const locked = !d.keep && lockedKeys.has(d.backup.manifestKey);
    if (rows.length >= MAX_TABLE_ROWS) {
      hidden++;
      continue;
    }
    rows.push([
      d.backup.manifest.createdAt,
      formatBytes(d.backup.data.size),
      d.keep ? 'keep' : locked ? 'kept (Object Lock)' : deleteWord,
      d.reasons.join(', '),
      d.backup.data.key,
    ]);
  }
  if (hidden) rows.push([`… ${hidden} more`, '', '', '', 'see the deleted-keys output']);
  return { title: 'Backups', header: ['Time (UTC)', 'Size', 'Decision', 'Kept by', 'Object'], rows };
}

export const pruneCommand: Command = {
  name: 'prune',
  description: 'apply the retention policy (keep-last/daily/weekly/monthly/yearly), delete the rest',
  async run(get, ctx): Promise<CommandResult> {
    const { config, destination } = readPruneConfig(get);
    const storage = storageFor(destination);
    const r = await runPrune(config, { storage, log: ctx.log, signal: ctx.signal });
    const kept = r.decisions.length - r.deletedBackups.length;
    const freed =
      r.deletedBackups.reduce((s, b) => s + b.data.size, 0) + r.incompleteDeleted.reduce((s, i) => s + i.data.size, 0);
    const verb = r.dryRun ? 'would be deleted' : 'deleted';
    const tables: ReportTable[] = [backupTable(r)];
    if (r.incomplete.length) {
      tables.push({
        title: 'Data objects without manifest (interrupted runs)',
        header: ['Object', 'Size', 'Age', 'Decision'],
        rows: r.incomplete.map((i) => [
          i.item.data.key,
          formatBytes(i.item.data.size),
          formatDuration(Math.max(0, i.ageSeconds)),
          i.action === 'keep'
            ? `keep (younger than min-age-incomplete ${formatDuration(config.minAgeIncompleteSeconds)})`
            : r.dryRun
              ? 'would delete'
              : r.incompleteDeleted.includes(i.item)
                ? 'deleted'
                : 'kept (Object Lock)',
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
    return {
      outputs: {
        kept,
        deleted: r.deletedBackups.length,
        'deleted-keys': JSON.stringify(r.deletedKeys),
        'incomplete-deleted': r.incompleteDeleted.length,
        'dry-run': r.dryRun,
      },
      warnings: r.warnings,
      report: {
        title: `${r.dryRun ? 'Prune dry run' : 'Prune'} of ${config.name}`,
        status: r.warnings.length ? 'warning' : 'success',
        headline: `${kept} backup(s) kept, ${r.deletedBackups.length} ${verb}, ${r.incompleteDeleted.length} incomplete object(s) ${verb}${r.dryRun ? ' (dry run: nothing was deleted)' : ''}`,
        facts: [
          ['Backup set', `${r.location}/${config.prefix ? `${config.prefix}/` : ''}${config.name}/`],
          ['Policy', policyText(config.policy)],
          ['Backups', `${r.decisions.length} (${kept} kept, ${r.deletedBackups.length} ${verb})`],
          ['Space freed', `${formatBytes(freed)}${r.dryRun ? ' (would be)' : ''}`],
          ...(r.locked.length ? ([['Kept by Object Lock', String(r.locked.length)]] as Array<[string, string]>) : []),
        ],
        tables,
      },
    };
  },
};
