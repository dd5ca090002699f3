/** The monitor's checks as pure functions: thresholds, trend, WAL archiver states, bucket audit verdicts. */
import { describe, expect, it } from 'vitest';
import { readMonitorInputs } from '../../src/commands/monitor.js';
import type { Backup } from '../../src/core/catalog.js';
import { auditBucket, type BucketAuditor } from '../../src/core/monitor/buckets.js';
import {
  axisTop,
  chartLabels,
  checkBackupAge,
  checkTableDrops,
  checkTrend,
  checkUsage,
  median,
  trendCharts,
  worst,
} from '../../src/core/monitor/checks.js';
import { type ArchiverStats, checkWalArchiving } from '../../src/core/monitor/wal.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const H = 3600;

function backup(hoursAgo: number, size = 1000, rows = 100): Backup {
  const createdAt = new Date(NOW.getTime() - hoursAgo * H * 1000);
  const key = `db/main/x-${hoursAgo}.sql.gz.gpg`;
  return {
    name: 'main',
    createdAt,
    manifestKey: key.replace('.sql.gz.gpg', '.manifest.json'),
    data: { key, size, lastModified: createdAt },
    manifest: {
      createdAt: createdAt.toISOString(),
      object: { key, size, sha256: '' },
      totals: { tables: 1, rows },
    } as Backup['manifest'],
  };
}

describe('checkBackupAge', () => {
  it.each([
    [[1], 'ok'],
    [[24.9], 'ok'],
    [[25.1, 1], 'critical'],
    [[], 'critical'],
  ])('newest of %j hours ago → %s', (ages, level) => {
    const r = checkBackupAge(
      'main',
      ages.map((a) => backup(a)),
      NOW,
      25 * H,
    );
    expect(r.level).toBe(level);
  });

  it('says how old, against which limit, and which backup', () => {
    expect(checkBackupAge('main', [backup(26.5)], NOW, 25 * H).message).toBe(
      'the newest backup of main is 1d 2h 30m old (max-age 1d 1h): db/main/x-26.5.sql.gz.gpg, taken 2026-11-24 09:30 UTC',
    );
  });
});

describe('checkUsage', () => {
  it.each([
    [0, 100, 'ok'],
    [79.9, 100, 'ok'],
    [80, 100, 'warning'],
    [85, 100, 'warning'],
    [90, 100, 'critical'],
    [95, 100, 'critical'],
    [120, 100, 'critical'],
    [50, undefined, 'n/a'],
  ])('%s of %s → %s', (used, capacity, level) => {
    expect(checkUsage(used, capacity, 80, 90).level).toBe(level);
  });
});

describe('checkTrend', () => {
  it.each([
    [[1000, 1000, 1000], 'ok', 'ok'],
    [[499, 1000, 1000, 1000], 'warning', 'ok'],
    [[500, 1000, 1000, 1000], 'ok', 'ok'],
    // The median ignores one odd backup among the previous seven.
    [[900, 1000, 10, 1000, 1000], 'ok', 'ok'],
    // Only the previous seven count: older big backups do not.
    [[100, 100, 100, 100, 100, 100, 100, 100, 99999, 99999, 99999, 99999], 'ok', 'ok'],
  ])('sizes %j → size %s, rows %s', (sizes, sizeLevel, rowLevel) => {
    const backups = sizes.map((s, i) => backup(i * 24, s, 100));
    const [size, rows] = checkTrend('main', backups, 0.5);
    expect(size?.level).toBe(sizeLevel);
    expect(rows?.level).toBe(rowLevel);
  });

  it('warns on a drop in rows at the same size (a dropped table)', () => {
    const backups = [backup(0, 1000, 10), backup(24, 1000, 100), backup(48, 1000, 100)];
    const [, rows] = checkTrend('main', backups, 0.5);
    expect(rows?.level).toBe('warning');
    expect(rows?.message).toMatch(/holds 10 rows, 10 % of the median 100 rows of the previous 2/);
  });

  it('needs history', () => {
    expect(checkTrend('main', [backup(0)], 0.5)[0]?.level).toBe('n/a');
  });

  it.each([
    [[1, 2, 3], 2],
    [[4, 1, 3, 2], 2.5],
    [[], 0],
  ])('median %j = %s', (v, m) => {
    expect(median(v)).toBe(m);
  });
});

describe('trendCharts', () => {
  it('charts the last 30 backups, oldest first, as Mermaid xychart-beta', () => {
    const backups = Array.from({ length: 40 }, (_, i) => backup(i * 24, (40 - i) * 1024 * 1024, 1000 + i));
    const md = trendCharts('main', backups) as string;
    expect(md).toContain('xychart-beta');
    expect(md).toContain('title "Stored size of main, last 30 backups"');
    expect(md).toMatch(/y-axis "MiB" 0 --> \d+/);
    expect(md).toMatch(/y-axis "thousands of rows" 0 --> \d+/);
    const bar = /bar \[([^\]]*)\]/.exec(md)?.[1]?.split(', ');
    expect(bar).toHaveLength(30);
    expect(bar?.[0]).toBe('11');
    expect(bar?.at(-1)).toBe('40');
    expect(/line \[([^\]]*)\]/.exec(md)?.[1]?.split(', ').at(-1)).toBe('1');
  });

  it('draws nothing for a single backup', () => {
    expect(trendCharts('main', [backup(0)])).toBeNull();
  });

  it('scales rows to thousands or millions', () => {
    const md = trendCharts('main', [backup(0, 1000, 4_400_000), backup(24, 1000, 1_180_000)]) as string;
    expect(md).toContain('y-axis "millions of rows" 0 --> 5');
    expect(md).toContain('line [1.18, 4.4]');
  });
});

describe('chartLabels', () => {
  const times = (n: number, hours = 24): string[] =>
    Array.from({ length: n }, (_, i) => new Date(NOW.getTime() + i * hours * H * 1000).toISOString());

  it.each([2, 10, 15, 16, 30, 31, 100])('%i backups: one unique label each, at most 15 written out', (n) => {
    const labels = chartLabels(times(n));
    expect(labels).toHaveLength(n);
    expect(new Set(labels).size).toBe(n);
    const shown = labels.filter((l) => l.replace(/\u200b/g, '') !== '');
    expect(shown.length).toBeLessThanOrEqual(15);
    expect(shown.length).toBeGreaterThanOrEqual(Math.min(n, 8));
    expect(labels.at(-1)).toBe(times(n).at(-1)?.slice(5, 16).replace('T', ' '));
  });

  it('keeps backups of the same minute apart (they merged into one bar)', () => {
    const same = ['2026-11-25T03:17:01.000Z', '2026-11-25T03:17:40.000Z', '2026-11-25T03:17:59.000Z'];
    expect(new Set(chartLabels(same)).size).toBe(3);
  });
});

describe('axisTop', () => {
  it.each([
    [0, 1],
    [1, 1.5],
    [40, 50],
    [4.4, 5],
    [1000, 1500],
    [99, 150],
  ])('%d → %d', (max, top) => {
    expect(axisTop(max)).toBe(top);
  });
});

function withTables(b: Backup, tables: Array<[string, number]>): Backup {
  const list = tables.map(([name, rows]) => ({ schema: 'public', name, rows, checksum: '' }));
  return { ...b, manifest: { ...b.manifest, tables: list } as Backup['manifest'] };
}

describe('checkTableDrops', () => {
  const prev = (t: Array<[string, number]>) => withTables(backup(24), t);
  const next = (t: Array<[string, number]>) => withTables(backup(0), t);

  it('names a table that lost more than the limit, also when the totals hide it', () => {
    const r = checkTableDrops(
      'main',
      [
        next([
          ['events', 0],
          ['big', 90_000_000],
        ]),
        prev([
          ['events', 1_180_000],
          ['big', 88_000_000],
        ]),
      ],
      50,
    );
    expect(r.level).toBe('warning');
    expect(r.message).toContain('public.events 1,180,000 → 0 rows');
    expect(r.message).not.toContain('public.big');
  });

  it.each([
    [1000, 500, 'ok'],
    [1000, 499, 'warning'],
    [0, 0, 'ok'],
    [10, 100, 'ok'],
  ])('%i → %i rows at 50 %% → %s', (before, after, level) => {
    expect(checkTableDrops('main', [next([['t', after]]), prev([['t', before]])], 50).level).toBe(level);
  });

  it('a table gone from the newest backup is a drop to nothing', () => {
    const r = checkTableDrops('main', [next([]), prev([['orders', 10]])], 50);
    expect(r.level).toBe('warning');
    expect(r.message).toContain('public.orders 10 → missing');
  });

  it('needs two backups', () => {
    expect(checkTableDrops('main', [next([['t', 1]])], 50).level).toBe('n/a');
  });
});

describe('worst', () => {
  it.each([
    [['ok', 'n/a'], 'ok'],
    [['ok', 'warning'], 'warning'],
    [['warning', 'critical', 'ok'], 'critical'],
    [[], 'ok'],
  ] as const)('%j → %s', (levels, expected) => {
    expect(worst([...levels])).toBe(expected);
  });
});

describe('checkWalArchiving', () => {
  const at = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * 60_000);
  const base: ArchiverStats = {
    archiveMode: 'on',
    inRecovery: false,
    now: NOW,
    archivedCount: 10,
    lastArchivedWal: '00000001000000000000000A',
    lastArchivedTime: at(5),
    failedCount: 0,
    lastFailedWal: null,
    lastFailedTime: null,
    statsReset: at(600),
  };
  it.each([
    ['archiving recently', {}, false, 'ok'],
    ['archive_mode off', { archiveMode: 'off' }, false, 'n/a'],
    ['archive_mode off, required', { archiveMode: 'off' }, true, 'critical'],
    ['a standby', { inRecovery: true }, false, 'n/a'],
    [
      'a failure after the last success',
      { failedCount: 3, lastFailedWal: 'B', lastFailedTime: at(1) },
      false,
      'critical',
    ],
    ['a failure before the last success', { failedCount: 3, lastFailedWal: 'B', lastFailedTime: at(30) }, false, 'ok'],
    [
      'failures and never a success',
      { failedCount: 2, lastFailedTime: at(1), lastArchivedTime: null, lastArchivedWal: null },
      false,
      'critical',
    ],
    ['nothing archived yet', { archivedCount: 0, lastArchivedTime: null, lastArchivedWal: null }, false, 'warning'],
    ['last archive too old', { lastArchivedTime: at(61) }, false, 'warning'],
  ])('%s → %s', (_what, over, required, level) => {
    expect(checkWalArchiving({ ...base, ...over } as ArchiverStats, H, required).level).toBe(level);
  });
});

describe('auditBucket (a test double: s3rver has no versioning)', () => {
  const auditor = (
    versioning: Record<string, string | Error>,
    replication: Record<string, number | null>,
  ): BucketAuditor => ({
    async versioning(b) {
      const v = versioning[b];
      if (v instanceof Error) throw v;
      return v ?? '';
    },
    async replication(b) {
      const n = replication[b];
      return n === null || n === undefined ? null : { enabledRules: n, destinations: ['dr-copy'] };
    },
  });
  it.each([
    ['Enabled', 1, false, ['ok']],
    ['Suspended', 1, false, ['critical']],
    ['', 1, false, ['critical']],
    ['Enabled', 1, true, ['ok', 'ok']],
    ['Enabled', 0, true, ['ok', 'critical']],
    ['Enabled', null, true, ['ok', 'critical']],
    [new Error('AccessDenied'), 1, false, ['warning']],
  ])('versioning %s, replication rules %s, required %s → %j', async (v, rules, required, levels) => {
    const r = await auditBucket(auditor({ a: v }, { a: rules }), 'a', required);
    expect(r.map((x) => x.level)).toEqual(levels);
  });
});

describe("monitor's max-table-drop-percent input", () => {
  const read = (extra: Record<string, string>) =>
    readMonitorInputs((n) => ({ destination: '/tmp/pgdr-monitor', 'encryption-passphrase': 'p', ...extra })[n] ?? '');

  it('defaults to 50', () => {
    expect(read({}).policy.maxTableDropPercent).toBe(50);
  });

  it.each(['101', '-1', 'half'])('refuses %s, naming the input', (value) => {
    expect(() => read({ 'max-table-drop-percent': value })).toThrow(/'max-table-drop-percent' must be a number/);
  });
});

describe('majorOf (the scratch server a backup needs)', () => {
  it.each([
    [170002, '17'],
    [160004, '16'],
    [100023, '10'],
    [90624, '9.6'],
    [0, ''],
  ])('%i → %j', async (num, major) => {
    const { majorOf } = await import('../../src/core/monitor.js');
    expect(majorOf(num)).toBe(major);
  });
});
