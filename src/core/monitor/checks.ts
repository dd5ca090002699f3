/**
 * The monitor's checks, as pure functions from what was read (catalog, usage, archiver statistics, bucket
 * settings) to verdicts. Each verdict has a value, its threshold and a one-line finding, so the summary
 * table and the `findings` output say the same thing.
 */
import { formatBytes, formatDuration, formatTime } from '../../util/units.js';
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
  const value = `${formatDuration(age)} (${formatTime(newest.manifest.createdAt)})`;
  if (age > maxAgeSeconds) {
    return {
      check,
      value,
      threshold,
      level: 'critical',
      message: `the newest backup of ${set} is ${formatDuration(age)} old (max-age ${formatDuration(maxAgeSeconds)}): ${newest.data.key}, taken ${formatTime(newest.manifest.createdAt)}`,
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
  const amount = `${formatBytes(usedBytes)} of ${formatBytes(capacityBytes)}`;
  const value = `${percent.toFixed(1)} % (${amount})`;
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
        : `storage is ${percent.toFixed(1)} % full (${amount}), over the ${level} level of ${limit} %: prune old backups or raise the quota`,
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

/** At most this many x labels are written out; more overlap into an unreadable band. */
export const MAX_CHART_LABELS = 15;

/** Bar and line colour: GitHub's accent blue, readable on the light and the dark theme. */
const CHART_INIT = '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#1f6feb"}}}}%%';

/**
 * The x labels of `times` (oldest first): one per backup, each unique (xychart merges equal labels into one
 * category, which hid bars), and only every n-th written out so that at most MAX_CHART_LABELS show. The
 * others are made of zero-width spaces, a different count for each: invisible yet distinct.
 */
export function chartLabels(times: string[]): string[] {
  const step = Math.max(1, Math.ceil(times.length / MAX_CHART_LABELS));
  const last = times.length - 1;
  const seen = new Set<string>();
  return times.map((iso, i) => {
    // The newest is always labelled; labels that would crowd it are left out.
    const shown = i === last || (i % step === 0 && last - i >= step);
    let label = shown ? iso.slice(5, 16).replace('T', ' ') : '';
    // Hidden labels, and two backups in one minute, differ by their count of trailing zero-width spaces.
    while (label === '' || seen.has(label)) label = `${label}\u200b`;
    seen.add(label);
    return label;
  });
}

/** The y axis's top: zero-based, with headroom, rounded to a readable number. */
export function axisTop(max: number): number {
  if (max <= 0) return 1;
  const raw = max * 1.1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const steps = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
  const step = steps.find((x) => x * magnitude >= raw) ?? 10;
  return Number((step * magnitude).toPrecision(3));
}

function unitOf(max: number, units: Array<[string, number]>): [string, number] {
  return units.find(([, div]) => max >= div) ?? (units.at(-1) as [string, number]);
}

const SIZE_UNITS: Array<[string, number]> = [
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 2 ** 10],
  ['bytes', 1],
];
const COUNT_UNITS: Array<[string, number]> = [
  ['millions of rows', 1e6],
  ['thousands of rows', 1e3],
  ['rows', 1],
];

/**
 * Mermaid xychart-beta charts of stored size (bars) and rows (a line) over the last `count` backups of a set:
 * one point per backup, y axes from zero (a 25 % drop must look like one), rows in K/M.
 */
export function trendCharts(set: string, backups: Backup[], count = 30): string | null {
  const series = backups.slice(0, count).reverse();
  if (series.length < 2) return null;
  const labels = chartLabels(series.map((b) => b.manifest.createdAt))
    .map((l) => `"${l}"`)
    .join(', ');
  const safe = set.replace(/["\n\r%]/g, '');
  const chart = (title: string, unit: string, values: number[], kind: 'bar' | 'line'): string => {
    const max = Math.max(...values);
    return [
      '```mermaid',
      CHART_INIT,
      'xychart-beta',
      `    title "${title}"`,
      `    x-axis [${labels}]`,
      `    y-axis "${unit}" 0 --> ${axisTop(max)}`,
      `    ${kind} [${values.join(', ')}]`,
      '```',
    ].join('\n');
  };
  const sizes = series.map((b) => b.manifest.object.size);
  const [sizeUnit, sizeDiv] = unitOf(Math.max(...sizes), SIZE_UNITS);
  const rows = series.map((b) => b.manifest.totals.rows);
  const [rowUnit, rowDiv] = unitOf(Math.max(...rows), COUNT_UNITS);
  const scaled = (v: number[], div: number): number[] => v.map((x) => Number((x / div).toFixed(2)));
  return [
    chart(`Stored size of ${safe}, last ${series.length} backups`, sizeUnit, scaled(sizes, sizeDiv), 'bar'),
    '',
    chart(`Rows in ${safe}, last ${series.length} backups`, rowUnit, scaled(rows, rowDiv), 'line'),
  ].join('\n');
}

/**
 * A table that lost more than `maxDropPercent` of its rows against the previous backup is a warning naming
 * it: a truncated table hides in the totals of a large database (1.18 M rows to 0 passed the size trend).
 */
export function checkTableDrops(set: string, backups: Backup[], maxDropPercent: number): CheckResult {
  const [newest, previous] = backups;
  const check = `Table rows (${set})`;
  const threshold = `no table loses more than ${maxDropPercent} %`;
  if (!newest || !previous) {
    return { check, value: `${backups.length} backup(s)`, threshold, level: 'n/a', message: 'not enough history' };
  }
  const now = new Map(newest.manifest.tables.map((t) => [`${t.schema}.${t.name}`, t.rows]));
  const drops = previous.manifest.tables
    .map((t) => {
      const label = `${t.schema}.${t.name}`;
      const rows = now.get(label) ?? 0;
      return { label, before: t.rows, rows, gone: !now.has(label) };
    })
    .filter((d) => d.before > 0 && ((d.before - d.rows) / d.before) * 100 > maxDropPercent)
    .sort((a, b) => b.before - b.rows - (a.before - a.rows));
  if (!drops.length) {
    return { check, value: 'no large drop', threshold, level: 'ok', message: `no table of ${set} lost many rows` };
  }
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const shown = drops
    .slice(0, 5)
    .map((d) => `${d.label} ${fmt(d.before)} → ${d.gone ? 'missing' : `${fmt(d.rows)} rows`}`)
    .join(', ');
  const more = drops.length > 5 ? ` and ${drops.length - 5} more` : '';
  return {
    check,
    value: `${drops.length} table(s): ${shown}${more}`,
    threshold,
    level: 'warning',
    message: `${drops.length} table(s) of ${set} lost more than ${maxDropPercent} % of their rows since the previous backup (${formatTime(previous.manifest.createdAt)}): ${shown}${more}. Truncated or dropped? ${newest.data.key}`,
  };
}
