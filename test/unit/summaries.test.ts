/**
 * The job summaries as on-call reads them: the markdown of every command's report, kept as readable .md
 * snapshots under test/unit/summaries/ (a reviewer sees the diff of what GitHub renders), plus the
 * properties a snapshot alone would not guard: no empty header row, long tables folded and capped, RTO
 * n/a when nothing was restored, criticals before warnings, text escaped.
 */
import { describe, expect, it } from 'vitest';
import { backupFailureReport, backupReport } from '../../src/commands/backup.js';
import { keysReport } from '../../src/commands/keys.js';
import { monitorReport } from '../../src/commands/monitor.js';
import { pruneReport } from '../../src/commands/prune.js';
import { restoreReport } from '../../src/commands/restore.js';
import { synthReport } from '../../src/commands/synth.js';
import { verifyReport } from '../../src/commands/verify.js';
import type { BackupProgress } from '../../src/core/backups/dump.js';
import type { CheckResult } from '../../src/core/monitor/checks.js';
import { checkTableDrops, checkUsage, trendCharts } from '../../src/core/monitor/checks.js';
import type { MonitorResult } from '../../src/core/monitor.js';
import type { PruneConfig, PruneResult } from '../../src/core/prune.js';
import { type Report, reportToMarkdown, reportToText } from '../../src/core/report.js';
import { DEFAULT_POLICY } from '../../src/core/retention.js';
import type { VerifyOutcome } from '../../src/core/verify.js';
import { backup, dailyBackups, HOUR, manifest, NOW, tableCheck } from './summary-fixtures.js';

/** The markdown as GitHub shows it: backslash escapes resolved (assertions read the words, not the escapes). */
const shown = (md: string): string => md.replace(/\\(.)/g, '$1');

const at = (hoursAgo: number): Date => new Date(NOW.getTime() - hoursAgo * HOUR);

function verifyOutcome(o: Partial<VerifyOutcome>): VerifyOutcome {
  const m = manifest({ at: at(3) });
  return {
    passed: true,
    backupKey: m.object.key,
    label: `s3://dr-backups/${m.object.key}`,
    manifest: m,
    backupAgeSeconds: 3 * 3600,
    restoreSeconds: 1312.4,
    loadSeconds: 1100.2,
    validateSeconds: 212.2,
    tables: [tableCheck('events', 1_180_000), tableCheck('users', 4_200)],
    failures: [],
    scratchDatabase: 'pgdr_verify_nightly_20261201t031742_k3j2',
    keptDatabase: false,
    skipped: [],
    maxAgeSeconds: 25 * 3600,
    maxRestoreSeconds: 4 * 3600,
    notes: [],
    ...o,
  };
}

const progress = (o: Partial<BackupProgress>): BackupProgress => ({
  stage: 'dump',
  name: 'nightly',
  dataKey: 'db/nightly/nightly-20261201T031742Z.sql.gz.gpg',
  dumpedBytes: 13_207_024_435,
  storedBytes: 2_812_345_678,
  currentTable: 'public.events',
  stored: false,
  previous: {
    key: 'db/nightly/nightly-20261130T031705Z.sql.gz.gpg',
    createdAt: at(24).toISOString(),
    dumpSize: 42_949_672_960,
    storedSize: 9_663_676_416,
  },
  ...o,
});

function monitorResult(checks: CheckResult[], o: Partial<MonitorResult> = {}): MonitorResult {
  const backups = dailyBackups(30, (i) => 1_900_000_000 + i * 4_000_000 - (i === 29 ? 500_000_000 : 0));
  const level = checks.some((c) => c.level === 'critical')
    ? 'critical'
    : checks.some((c) => c.level === 'warning')
      ? 'warning'
      : 'ok';
  return {
    status: level,
    checks,
    newest: { key: backups[0]?.data.key as string, ageSeconds: 3 * 3600, set: 'nightly', serverMajor: '16' },
    usedBytes: 1_932_735_283,
    sets: ['nightly'],
    charts: [trendCharts('nightly', backups) as string],
    ...o,
  };
}

const ageOk: CheckResult = {
  check: 'Newest backup age (nightly)',
  value: '3h (2026-12-01 00:17 UTC)',
  threshold: '≤ 1d 1h',
  level: 'ok',
  message: 'the newest backup of nightly is 3h old',
};

const pruneConfig: PruneConfig = {
  prefix: 'db',
  name: 'nightly',
  policy: { ...DEFAULT_POLICY },
  dryRun: false,
  minAgeIncompleteSeconds: 86_400,
  authKeys: { passphrases: ['x'] },
};

function pruneResult(): PruneResult {
  const backups = dailyBackups(10, () => 1_932_735_283);
  const decisions = backups.map((b, i) => ({
    backup: b,
    keep: i < 7,
    reasons: i < 7 ? [...(i === 0 ? ['last 1/1'] : []), `daily ${i + 1}/7`] : [],
  }));
  const deleted = backups.slice(7);
  return {
    location: 's3://dr-backups',
    dryRun: false,
    decisions,
    incomplete: [],
    broken: [],
    unauthenticated: [],
    deletedKeys: deleted.flatMap((b) => [b.manifestKey, b.data.key, `${b.manifestKey}.sig`]),
    deletedBackups: deleted,
    incompleteDeleted: [],
    strayAuthenticatorsDeleted: [],
    locked: [],
    warnings: [],
  };
}

const manyTables = Array.from({ length: 3000 }, (_, i) =>
  i === 2100 ? tableCheck(`t${i}`, 1_180_000, 'row count differs', 0) : tableCheck(`t${i}`, 100 + i),
);

const SUMMARIES: Record<string, () => Report> = {
  'backup-ok': () =>
    backupReport(
      {
        manifest: manifest({ at: at(0.2) }),
        manifestKey: 'db/nightly/nightly.manifest.json',
        durationSeconds: 754.3,
        location: 's3://dr-backups',
      },
      undefined,
    ),
  'backup-failed-during-dump': () =>
    backupFailureReport(
      new Error('pg_dump failed: query failed: ERROR:  permission denied for table events'),
      progress({}),
      { location: 's3://dr-backups', now: NOW, startedAt: new Date(NOW.getTime() - 1_390_000) },
    ),
  'backup-failed-to-connect': () =>
    backupFailureReport(
      new Error('cannot connect to db.internal:5432/app: connect ECONNREFUSED 10.0.0.5:5432'),
      progress({
        stage: 'connect',
        dataKey: undefined,
        name: undefined,
        dumpedBytes: 0,
        storedBytes: 0,
        currentTable: undefined,
      }),
      { name: 'nightly', location: 's3://dr-backups', now: NOW, startedAt: new Date(NOW.getTime() - 4_000) },
    ),
  'backup-failed-storage-unreachable': () =>
    backupFailureReport(
      new Error('storage unreachable: getaddrinfo ENOTFOUND dr-backups.s3.amazonaws.com'),
      progress({
        stage: 'preflight',
        dataKey: undefined,
        name: undefined,
        dumpedBytes: 0,
        storedBytes: 0,
        currentTable: undefined,
        previous: undefined,
      }),
      { location: 's3://dr-backups', now: NOW, startedAt: new Date(NOW.getTime() - 31_000) },
    ),
  'verify-passed': () => verifyReport(verifyOutcome({})),
  'verify-failed-table-mismatch': () =>
    verifyReport(
      verifyOutcome({
        passed: false,
        tables: manyTables,
        failures: [
          {
            kind: 'table-mismatch',
            message: '1 of 3000 tables do not match the manifest: public.t2100 (row count differs)',
          },
        ],
      }),
    ),
  'verify-failed-restore': () =>
    verifyReport(
      verifyOutcome({
        passed: false,
        tables: [],
        loadSeconds: undefined,
        validateSeconds: undefined,
        restoreSeconds: 7.3,
        failures: [{ kind: 'restore', message: 'psql failed: ERROR:  role "app_owner" does not exist' }],
      }),
    ),
  'verify-unverifiable-no-backup': () =>
    verifyReport(
      verifyOutcome({
        passed: false,
        manifest: undefined,
        backupKey: 'latest of nightly',
        label: 'latest of nightly',
        backupAgeSeconds: undefined,
        restoreSeconds: undefined,
        loadSeconds: undefined,
        validateSeconds: undefined,
        tables: [],
        scratchDatabase: undefined,
        failures: [
          {
            kind: 'missing-manifest',
            message: 'no backup of nightly has an authenticated manifest in s3://dr-backups/db',
          },
        ],
      }),
    ),
  restore: () =>
    restoreReport({
      manifest: manifest({ at: at(5) }),
      restoredKey: 'db/nightly/nightly-20261130T221742Z.sql.gz.gpg',
      label: 's3://dr-backups/db/nightly/nightly-20261130T221742Z.sql.gz.gpg',
      target: 'app',
      previousDatabase: 'app_before_restore_20261201t031742',
      preRestoreBackupKey: 'db/nightly-pre-restore/nightly-pre-restore-20261201T031000Z.sql.gz.gpg',
      dataLossWindowSeconds: 5 * 3600,
      restoreSeconds: 1204,
      tables: [tableCheck('events', 1_180_000), tableCheck('users', 4_200)],
      createdRoles: { created: ['app_owner'], memberships: [], withheld: [] },
      staging: null,
    }),
  prune: () => pruneReport(pruneResult(), pruneConfig),
  'monitor-ok': () =>
    monitorReport(
      monitorResult([ageOk, checkUsage(1_932_735_283, 10 * 2 ** 30, 80, 90)], { usedPercent: 18 }),
      's3://dr-backups/db',
    ),
  'monitor-warning': () => {
    const [newest, previous] = dailyBackups(2, () => 1_000_000_000);
    const truncated = backup({ at: newest?.createdAt as Date, rows: 0 });
    return monitorReport(
      monitorResult([ageOk, checkTableDrops('nightly', [truncated, previous as never], 50)]),
      's3://dr-backups/db',
    );
  },
  'monitor-critical': () =>
    monitorReport(
      monitorResult(
        [
          checkTableDrops('nightly', [backup({ at: at(1), rows: 0 }), backup({ at: at(25) })], 50),
          {
            ...ageOk,
            value: '1d 2h (2026-11-30 01:17 UTC)',
            level: 'critical',
            message: 'the newest backup of nightly is 1d 2h old (max-age 1d 1h)',
          },
          checkUsage(1_932_735_283, 2_362_232_012, 80, 90),
        ],
        {
          usedPercent: 81.8,
          newest: {
            key: 'db/nightly/nightly-20261130T011742Z.sql.gz.gpg',
            ageSeconds: 26 * 3600,
            set: 'nightly',
            serverMajor: '16',
          },
        },
      ),
      's3://dr-backups/db',
    ),
  keys: () =>
    keysReport(
      {
        usage: [
          {
            key: 'passphrase #1',
            scheme: 'openpgp-passphrase',
            count: 12,
            oldest: at(12 * 24).toISOString(),
            newest: at(3).toISOString(),
            example: 'db/nightly/nightly-20261201T001742Z.sql.gz.gpg',
            available: true,
          },
        ],
        backups: 12,
        unopenable: 0,
        unused: [],
      },
      { where: 's3://dr-backups/db', checked: true, passphrasesGiven: true },
    ),
  synth: () =>
    synthReport('rehearsal', 's3://dr-backups/db', [
      { createdAt: at(48), dataKey: 'db/rehearsal/rehearsal-20261129T031742Z.sql.gz.gpg' },
      { createdAt: at(24), dataKey: 'db/rehearsal/rehearsal-20261130T031742Z.sql.gz.gpg' },
    ]),
};

describe('summaries', () => {
  it.each(Object.keys(SUMMARIES))('%s', async (name) => {
    const md = reportToMarkdown((SUMMARIES[name] as () => Report)());
    await expect(md).toMatchFileSnapshot(`summaries/${name}.md`);
    // GFM needs a header row; `| | |` rendered as an empty one.
    expect(md).not.toMatch(/^\|(\s*\|)+\s*$/m);
    // Raw ISO timestamps are for machines: a summary shows `2026-12-01 03:17 UTC`.
    expect(md).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/);
  });

  it('names the set in the status line', () => {
    for (const [name, make] of Object.entries(SUMMARIES)) {
      const first = reportToMarkdown(make()).split('\n')[0] as string;
      if (name === 'backup-failed-storage-unreachable' || name === 'keys') continue;
      expect(first, name).toMatch(/nightly|rehearsal/);
    }
  });

  it('folds verify’s 3000 tables, the mismatch first, and counts the rest', () => {
    const md = reportToMarkdown(SUMMARIES['verify-failed-table-mismatch']?.() as Report);
    expect(md).toContain('<details><summary>Tables, 1 not matching first (3,000)</summary>');
    expect(md.split('\n').filter((l) => l.startsWith('| public.t')).length).toBe(100);
    expect(md.indexOf('public.t2100')).toBeLessThan(md.indexOf('public.t0 '));
    expect(md).toContain('… and 2,900 more');
  });

  it('shows no RTO for a restore that never happened, and the measured one when it did', () => {
    expect(reportToMarkdown(SUMMARIES['verify-failed-restore']?.() as Report)).toMatch(
      /\| RTO [^|]*\| n\/a: nothing was restored/,
    );
    expect(reportToMarkdown(SUMMARIES['verify-failed-restore']?.() as Report)).not.toContain('✅ 7.3s');
    expect(shown(reportToMarkdown(SUMMARIES['verify-passed']?.() as Report))).toContain('✅ 21m 52s (target ≤ 4h)');
  });

  it('lists critical findings before warnings, and storage once as a percentage', () => {
    const md = shown(reportToMarkdown(SUMMARIES['monitor-critical']?.() as Report));
    const headline = md.split('\n').find((l) => l.startsWith('**')) as string;
    expect(headline.indexOf('critical:')).toBeLessThan(headline.indexOf('warning:'));
    expect(headline).toContain('81.8 % full (1.8 GiB of 2.2 GiB)');
    expect(md).not.toMatch(/%\)[^|]*%\)/);
  });

  it('says where a failed backup stopped, what was stored and the last good backup', () => {
    const md = shown(reportToMarkdown(SUMMARIES['backup-failed-during-dump']?.() as Report));
    for (const s of [
      'dumping and uploading',
      '12.3 GiB (2.6 GiB sent to the storage)',
      'public.events',
      'nothing: no manifest was written',
      'db/nightly/nightly-20261130T031705Z.sql.gz.gpg, taken 2026-11-30 03:17 UTC (1d ago)',
    ]) {
      expect(md).toContain(s);
    }
  });

  it('keeps report text escaped', () => {
    const md = reportToMarkdown(
      backupFailureReport(new Error('![x](https://evil.example/p.png) <img src=x> @team'), progress({}), {
        location: 's3://b',
        now: NOW,
        startedAt: NOW,
      }),
    );
    expect(md).toContain('\\!\\[x\\](https://evil.example/p.png) \\<img src=x\\> @\u200bteam');
  });

  it('caps long tables in the text report too', () => {
    const text = reportToText(SUMMARIES['verify-failed-table-mismatch']?.() as Report);
    expect(text).toContain('… and 2,900 more');
  });
});
