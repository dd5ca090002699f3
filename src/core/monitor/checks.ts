/**
 * The monitor's checks, as pure functions from what was read (catalog, usage, archiver statistics, bucket
 * settings) to verdicts. Each verdict has a value, its threshold and a one-line finding, so the summary
 * table and the `findings` output say the same thing.
 */
import { formatBytes, formatDuration } from '../../util/units.js';
import type { Backup, Catalog } from '../catalog.js';

export type Level = 'ok' | 'warning' | 'critical' | 'n/a';

export interface CheckResult {
  check: string;
  value: string;
  threshold: string;
  level: Level;
  /** One line, for `findings` and annotations (meaningful when level is warning or critical). */
  message: string;
}

export const LEVEL_RANK: Record<Level, number> = { 'n/a': 0, ok: 0, warning: 1, critical: 2 };

export function worst(levels: Level[]): 'ok' | 'warning' | 'critical' {
  const rank = Math.max(0, ...levels.map((l) => LEVEL_RANK[l]));
  return rank === 2 ? 'critical' : rank === 1 ? 'warning' : 'ok';
}

/** The newest backup with a valid manifest must be younger than `maxAgeSeconds`; none at all is critical. */
export function checkBackupAge(set: string, backups: Backup[], now: Date, maxAgeSeconds: number): CheckResult {
  const threshold = `≤ ${formatDuration(maxAgeSeconds)}`;
  const newest = backups[0];
  const check = `Newest backup age (${set})`;
  if (!newest) {
    return {
      check,
      value: 'no backup',
      threshold,
      level: 'critical',
      message: `no backup of ${set} has a valid manifest`,
    };
  }
  const age = Math.max(0, (now.getTime() - newest.createdAt.getTime()) / 1000);
  const value = `${formatDuration(age)} (${newest.manifest.createdAt})`;
  if (age > maxAgeSeconds) {
    return {
      check,
      value,
      threshold,
      level: 'critical',
      message: `the newest backup of ${set} is ${formatDuration(age)} old (max-age ${formatDuration(maxAgeSeconds)}): ${newest.data.key}, taken ${newest.manifest.createdAt}`,
    };
  }
  return { check, value, threshold, level: 'ok', message: `the newest backup of ${set} is ${formatDuration(age)} old` };
}

/** Data objects newer than the newest valid backup without a manifest, and manifests that do not parse. */
export function checkIncomplete(set: string, catalog: Catalog): CheckResult | null {
  const newest = catalog.backups.find((b) => b.name === set);
  const stray = catalog.incomplete.filter((i) => i.name === set && (!newest || i.createdAt > newest.createdAt));
  const broken = catalog.broken.filter((b) => b.name === set);
  if (!stray.length && !broken.length) return null;
  const parts: string[] = [];
  if (stray.length) {
    parts.push(
      `${stray.length} newer data object(s) without a manifest (an interrupted backup does not count): ${stray[0]?.data.key}`,
    );
  }
  if (broken.length)
    parts.push(`${broken.length} unusable manifest(s): ${broken[0]?.manifestKey} (${broken[0]?.reason})`);
  return {
    check: `Incomplete backups (${set})`,
    value: `${stray.length} without manifest, ${broken.length} broken`,
    threshold: 'none',
    level: 'warning',
    message: `${set}: ${parts.join('; ')}`,
  };
}

/** Manifests that do not authenticate: planted, edited or replayed objects, or backups from before authentication. */
export function checkUnauthenticated(set: string, catalog: Catalog): CheckResult | null {
  const untrusted = catalog.unauthenticated.filter((u) => u.name === set);
  if (!untrusted.length) return null;
  const first = untrusted[0] as (typeof untrusted)[number];
  return {
    check: `Unauthenticated manifests (${set})`,
    value: String(untrusted.length),
    threshold: 'none',
    level: 'warning',
    message: `${set}: ${untrusted.length} manifest(s) do not authenticate and are ignored (never restored, pruned or counted), e.g. ${first.manifestKey}: ${first.reason}. Someone with write access to the storage may have planted them; see docs/security.md`,
  };
}

export function checkUsage(
  usedBytes: number,
  capacityBytes: number | undefined,
  warnPercent: number,
  criticalPercent: number,
): CheckResult {
  const check = 'Storage used';
  const threshold = `warning ${warnPercent} %, critical ${criticalPercent} %`;
  if (!capacityBytes) {
    return {
      check,
      value: formatBytes(usedBytes),
      threshold: 'set capacity to check',
      level: 'n/a',
      message: `${formatBytes(usedBytes)} used`,
    };
  }
  const percent = (usedBytes / capacityBytes) * 100;
  const value = `${formatBytes(usedBytes)} of ${formatBytes(capacityBytes)} (${percent.toFixed(1)} %)`;
  const level: Level = percent >= criticalPercent ? 'critical' : percent >= warnPercent ? 'warning' : 'ok';
  const limit = level === 'critical' ? criticalPercent : warnPercent;
  return {
    check,
    value,
    threshold,
    level,
    message:
      level === 'ok'
        ? `storage ${percent.toFixed(1)} % used`
        : `storage is ${percent.toFixed(1)} % full (${value}), over the ${level} level of ${limit} %: prune old backups or raise the quota`,
  };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return 0;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * A backup much smaller than the recent ones (stored bytes or rows under `minRatio` × the median of the
 * `window` before it) is a warning: a dropped table or a truncated dump looks exactly like that.
 */
export function checkTrend(set: string, backups: Backup[], minRatio: number, window = 7): CheckResult[] {
  const [newest, ...older] = backups;
  const previous = older.slice(0, window);
  const threshold = `≥ ${Math.round(minRatio * 100)} % of the median of the previous ${window}`;
  if (!newest || !previous.length) {
    return [
      {
        check: `Size trend (${set})`,
        value: `${backups.length} backup(s)`,
        threshold,
        level: 'n/a',
        message: 'not enough history',
      },
    ];
  }
  const measures: Array<[string, (b: Backup) => number, (n: number) => string]> = [
    ['Size trend', (b) => b.manifest.object.size, formatBytes],
    ['Row trend', (b) => b.manifest.totals.rows, (n) => `${Math.round(n).toLocaleString('en-US')} rows`],
  ];
  return measures.map(([label, of, fmt]) => {
    const base = median(previous.map(of));
    const now = of(newest);
    const ratio = base > 0 ? now / base : 1;
    const value = `${fmt(now)} vs ${fmt(base)} (${Math.round(ratio * 100)} %)`;
    const low = base > 0 && ratio < minRatio;
    return {
      check: `${label} (${set})`,
      value,
      threshold,
      level: low ? 'warning' : 'ok',
      message: low
        ? `the newest backup of ${set} holds ${fmt(now)}, ${Math.round(ratio * 100)} % of the median ${fmt(base)} of the previous ${previous.length}: a dropped table or a truncated dump? ${newest.data.key}`
        : `${label.toLowerCase()} of ${set} normal`,
    };
  });
}

/** Mermaid xychart-beta charts of stored size and rows over the last `count` backups of a set. */
export function trendCharts(set: string, backups: Backup[], count = 30): string | null {
  const series = backups.slice(0, count).reverse();
  if (series.length < 2) return null;
  const max = Math.max(...series.map((b) => b.manifest.object.size));
  const [unit, div] =
    max >= 2 ** 30
      ? ['GiB', 2 ** 30]
      : max >= 2 ** 20
        ? ['MiB', 2 ** 20]
        : max >= 2 ** 10
          ? ['KiB', 2 ** 10]
          : ['B', 1];
  const labels = series.map((b) => `"${b.manifest.createdAt.slice(5, 16).replace('T', ' ')}"`).join(', ');
  const sizes = series.map((b) => Number((b.manifest.object.size / (div as number)).toFixed(2))).join(', ');
  const rows = series.map((b) => b.manifest.totals.rows).join(', ');
  const safe = set.replace(/"/g, '');
  return [
    '```mermaid',
    'xychart-beta',
    `    title "Backup size of ${safe} (${unit}), last ${series.length}"`,
    `    x-axis [${labels}]`,
    `    y-axis "${unit}"`,
    `    bar [${sizes}]`,
    '```',
    '',
    '```mermaid',
    'xychart-beta',
    `    title "Rows in backups of ${safe}, last ${series.length}"`,
    `    x-axis [${labels}]`,
    '    y-axis "rows"',
    `    line [${rows}]`,
    '```',
  ].join('\n');
}
