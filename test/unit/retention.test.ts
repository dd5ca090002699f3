/**
 * Retention decisions, table by table. Every table runs under several time zones (process.env.TZ is
 * honoured by Node at run time), and the buckets must come out the same: UTC, never local time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRetention,
  bucketOf,
  DEFAULT_POLICY,
  isoWeekUTC,
  type RetentionPolicy,
  validatePolicy,
} from '../../src/core/retention.js';
import { UserError } from '../../src/util/errors.js';

interface B {
  name: string;
  manifestKey: string;
  createdAt: Date;
}

const at = (iso: string, name = 'db'): B => ({
  name,
  manifestKey: `backups/${name}/${iso}.manifest.json`,
  createdAt: new Date(iso),
});

const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({
  last: 0,
  daily: 0,
  weekly: 0,
  monthly: 0,
  yearly: 0,
  ...p,
});

/** Kept backups as `{ iso: reasons }`. */
function keptOf(backups: B[], p: RetentionPolicy, now: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const d of applyRetention(backups, p, new Date(now))) {
    if (d.keep)
      out[`${d.backup.name === 'db' ? '' : `${d.backup.name}@`}${d.backup.createdAt.toISOString()}`] = d.reasons;
  }
  return out;
}

/** One backup a day at `hour` UTC from `from` to `to` inclusive. */
function everyDay(from: string, to: string, hour = '02:00:00'): B[] {
  const out: B[] = [];
  for (let t = Date.parse(`${from}T${hour}Z`); t <= Date.parse(`${to}T${hour}Z`); t += 86_400_000) {
    out.push(at(new Date(t).toISOString()));
  }
  return out;
}

const z = (day: string, time = '02:00:00') => `${day}T${time}.000Z`;

const TIME_ZONES = ['UTC', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Kiritimati'];
const originalTz = process.env.TZ;

describe.each(TIME_ZONES)('retention with TZ=%s', (tz) => {
  beforeAll(() => {
    process.env.TZ = tz;
  });
  afterAll(() => {
    if (originalTz === undefined) delete process.env.TZ;
    else process.env.TZ = originalTz;
  });

  it('runs in that time zone (the tables below would fail with local-time buckets)', () => {
    const offsets: Record<string, number> = {
      UTC: 0,
      'America/New_York': 300, // EST, in January
      'Australia/Lord_Howe': -660, // +11:00, LHDT in January
      'Asia/Kathmandu': -345,
      'Pacific/Kiritimati': -840,
    };
    expect(new Date('2025-01-15T12:00:00Z').getTimezoneOffset()).toBe(offsets[tz]);
  });

  it.each([
    ['2024-12-30T00:00:00Z', '2025-W01'],
    ['2021-01-03T23:59:59Z', '2020-W53'],
    ['2021-01-04T00:00:00Z', '2021-W01'],
    ['2023-01-01T12:00:00Z', '2022-W52'],
    ['2026-01-01T00:00:00Z', '2026-W01'],
    ['2027-01-01T00:00:00Z', '2026-W53'],
    ['2027-01-03T23:59:59Z', '2026-W53'],
    ['2025-03-09T06:30:00Z', '2025-W10'],
    ['1969-12-29T00:00:00Z', '1970-W01'],
  ])('ISO week of %s is %s', (iso, week) => {
    expect(isoWeekUTC(new Date(iso))).toBe(week);
    expect(bucketOf('weekly', new Date(iso))).toBe(week);
  });

  it.each([
    // 19:30 on Mar 9 in New York (EDT) is already Mar 10 in UTC; Lord Howe's 00:15 on Apr 6 is Apr 5 UTC.
    ['2025-03-10T00:30:00Z', '2025-03-10', '2025-03', '2025'],
    ['2025-04-05T13:15:00Z', '2025-04-05', '2025-04', '2025'],
    ['2025-12-31T23:59:59Z', '2025-12-31', '2025-12', '2025'],
    ['2026-01-01T00:00:00Z', '2026-01-01', '2026-01', '2026'],
  ])('buckets of %s: %s, %s, %s', (iso, day, month, year) => {
    const d = new Date(iso);
    expect([bucketOf('daily', d), bucketOf('monthly', d), bucketOf('yearly', d)]).toEqual([day, month, year]);
  });

  const twoYears = everyDay('2024-01-01', '2025-12-31');
  const monthEnds = ['11-30', '10-31', '09-30', '08-31', '07-31', '06-30', '05-31', '04-30', '03-31', '02-28', '01-31'];

  it.each<[string, B[], RetentionPolicy, string, Record<string, string[]>]>([
    [
      'daily backups for two years, the default policy (1 last, 7 daily, 4 weekly, 12 monthly)',
      twoYears,
      DEFAULT_POLICY,
      '2025-12-31T12:00:00Z',
      {
        [z('2025-12-31')]: ['last 1/1', 'daily 1/7', 'weekly 1/4', 'monthly 1/12'],
        [z('2025-12-30')]: ['daily 2/7'],
        [z('2025-12-29')]: ['daily 3/7'],
        [z('2025-12-28')]: ['daily 4/7', 'weekly 2/4'], // Sunday: the newest of 2025-W52
        [z('2025-12-27')]: ['daily 5/7'],
        [z('2025-12-26')]: ['daily 6/7'],
        [z('2025-12-25')]: ['daily 7/7'],
        [z('2025-12-21')]: ['weekly 3/4'],
        [z('2025-12-14')]: ['weekly 4/4'],
        ...Object.fromEntries(monthEnds.map((d, i) => [z(`2025-${d}`), [`monthly ${i + 2}/12`]])),
      },
    ],
    [
      'daily backups for two years, 3 yearly: fewer years than asked keeps the oldest too',
      twoYears,
      policy({ yearly: 3 }),
      '2026-06-01T00:00:00Z',
      {
        [z('2025-12-31')]: ['yearly 1/3'],
        [z('2024-12-31')]: ['yearly 2/3'],
        [z('2024-01-01')]: ['yearly (oldest)'],
      },
    ],
    [
      'daily backups for two years, 24 monthly: one per month, no oldest extra (24 buckets exist)',
      twoYears,
      policy({ monthly: 24 }),
      '2026-01-01T00:00:00Z',
      Object.fromEntries(
        twoYears
          .filter((b) => {
            const next = new Date(b.createdAt.getTime() + 86_400_000);
            return next.getUTCDate() === 1;
          })
          .map((b, i, all) => [b.createdAt.toISOString(), [`monthly ${all.length - i}/24`]]),
      ),
    ],
    [
      'gaps of weeks: only days that hold a backup count',
      [z('2025-01-01'), z('2025-01-02'), z('2025-02-15'), z('2025-02-16'), z('2025-03-20')].map((d) => at(d)),
      policy({ daily: 3 }),
      '2025-03-21T00:00:00Z',
      { [z('2025-03-20')]: ['daily 1/3'], [z('2025-02-16')]: ['daily 2/3'], [z('2025-02-15')]: ['daily 3/3'] },
    ],
    [
      'gaps of weeks, weekly 3 reaches back over empty weeks',
      [z('2025-01-01'), z('2025-01-02'), z('2025-02-15'), z('2025-02-16'), z('2025-03-20')].map((d) => at(d)),
      policy({ weekly: 3 }),
      '2025-03-21T00:00:00Z',
      {
        [z('2025-03-20')]: ['weekly 1/3'], // 2025-W12
        [z('2025-02-16')]: ['weekly 2/3'], // Sun, 2025-W07 (the 15th is the same week)
        [z('2025-01-02')]: ['weekly 3/3'], // 2025-W01
      },
    ],
    [
      'gaps of weeks, more days asked than exist: all kept, each counted once',
      [z('2025-01-01'), z('2025-02-15'), z('2025-03-20')].map((d) => at(d)),
      policy({ daily: 7 }),
      '2025-03-21T00:00:00Z',
      { [z('2025-03-20')]: ['daily 1/7'], [z('2025-02-15')]: ['daily 2/7'], [z('2025-01-01')]: ['daily 3/7'] },
    ],
    [
      'several backups a day: the newest of each day',
      ['01:00:00', '09:00:00', '17:00:00'].flatMap((t) => [
        at(z('2025-06-10', t)),
        at(z('2025-06-09', t)),
        at(z('2025-06-08', t)),
      ]),
      policy({ last: 2, daily: 2 }),
      '2025-06-11T00:00:00Z',
      {
        [z('2025-06-10', '17:00:00')]: ['last 1/2', 'daily 1/2'],
        [z('2025-06-10', '09:00:00')]: ['last 2/2'],
        [z('2025-06-09', '17:00:00')]: ['daily 2/2'],
      },
    ],
    [
      'several backups a day, fewer days than asked: the oldest backup is kept too',
      ['01:00:00', '09:00:00', '17:00:00'].flatMap((t) => [at(z('2025-06-10', t)), at(z('2025-06-09', t))]),
      policy({ daily: 7 }),
      '2025-06-11T00:00:00Z',
      {
        [z('2025-06-10', '17:00:00')]: ['daily 1/7'],
        [z('2025-06-09', '17:00:00')]: ['daily 2/7'],
        [z('2025-06-09', '01:00:00')]: ['daily (oldest)'],
      },
    ],
    [
      'DST start in New York: 23:30 and 00:30 UTC are one local day but two UTC days',
      [
        '2025-03-08T23:30:00.000Z',
        '2025-03-09T00:30:00.000Z',
        '2025-03-09T06:30:00.000Z',
        '2025-03-09T23:30:00.000Z',
        '2025-03-10T00:30:00.000Z',
      ].map((d) => at(d)),
      policy({ daily: 3 }),
      '2025-03-11T00:00:00Z',
      {
        '2025-03-10T00:30:00.000Z': ['daily 1/3'],
        '2025-03-09T23:30:00.000Z': ['daily 2/3'],
        '2025-03-08T23:30:00.000Z': ['daily 3/3'],
      },
    ],
    [
      'DST end in Lord Howe (half-hour shift) and a month boundary that local time would move',
      [
        '2025-04-05T13:15:00.000Z',
        '2025-04-05T12:45:00.000Z',
        '2025-03-31T13:30:00.000Z',
        '2025-03-31T12:00:00.000Z',
      ].map((d) => at(d)),
      policy({ daily: 2, monthly: 2 }),
      '2025-05-01T00:00:00Z',
      {
        '2025-04-05T13:15:00.000Z': ['daily 1/2', 'monthly 1/2'],
        '2025-03-31T13:30:00.000Z': ['daily 2/2', 'monthly 2/2'],
      },
    ],
    [
      'backups dated in the future are kept and take no bucket',
      [z('2030-01-01'), z('2025-06-12'), z('2025-06-10', '10:00:00'), z('2025-06-10'), z('2025-06-09')].map((d) =>
        at(d),
      ),
      policy({ last: 1, daily: 1 }),
      '2025-06-11T00:00:00Z',
      {
        [z('2030-01-01')]: ['future'],
        [z('2025-06-12')]: ['future'],
        [z('2025-06-10', '10:00:00')]: ['last 1/1', 'daily 1/1'],
      },
    ],
    [
      'a backup at exactly now is not in the future',
      [z('2025-06-11'), z('2025-06-10')].map((d) => at(d)),
      policy({ last: 1 }),
      z('2025-06-11'),
      { [z('2025-06-11')]: ['last 1/1'] },
    ],
    [
      'sets are decided apart: db1 does not evict db10',
      [
        at(z('2025-06-10'), 'db1'),
        at(z('2025-06-09'), 'db1'),
        at(z('2025-06-08'), 'db10'),
        at(z('2025-06-07'), 'db10'),
      ],
      policy({ last: 1 }),
      '2025-06-11T00:00:00Z',
      { [`db1@${z('2025-06-10')}`]: ['last 1/1'], [`db10@${z('2025-06-08')}`]: ['last 1/1'] },
    ],
    [
      'same second in one set: the tie is ordered by key, not input order',
      [at(z('2025-06-10')), { ...at(z('2025-06-10')), manifestKey: 'backups/db/zz.manifest.json' }],
      policy({ last: 1 }),
      '2025-06-11T00:00:00Z',
      { [z('2025-06-10')]: ['last 1/1'] },
    ],
    ['no backups: nothing to decide', [], DEFAULT_POLICY, '2025-06-11T00:00:00Z', {}],
  ])('%s', (_title, backups, p, now, expected) => {
    expect(keptOf(backups, p, now)).toEqual(expected);
    // Input order does not matter.
    expect(keptOf([...backups].reverse(), p, now)).toEqual(expected);
  });

  it('keeps the tie winner by key, deterministically', () => {
    const a = { ...at(z('2025-06-10')), manifestKey: 'backups/db/a.manifest.json' };
    const b = { ...at(z('2025-06-10')), manifestKey: 'backups/db/b.manifest.json' };
    for (const input of [
      [a, b],
      [b, a],
    ]) {
      const d = applyRetention(input, policy({ last: 1 }), new Date('2025-07-01T00:00:00Z'));
      expect(d.map((x) => [x.backup.manifestKey, x.keep])).toEqual([
        ['backups/db/b.manifest.json', true],
        ['backups/db/a.manifest.json', false],
      ]);
    }
  });
});

describe('retention edge cases', () => {
  it('keeps a backup whose time is not a number rather than guess', () => {
    const bad = { name: 'db', manifestKey: 'k', createdAt: new Date('nonsense') };
    const d = applyRetention([bad, at(z('2025-06-10'))], policy({ last: 1 }), new Date('2025-07-01T00:00:00Z'));
    expect(d.find((x) => x.backup === bad)).toEqual({ backup: bad, keep: true, reasons: ['invalid time'] });
  });

  it('refuses a policy of all zeros, naming the keep-* inputs', () => {
    expect(() => applyRetention([at(z('2025-06-10'))], policy({}), new Date())).toThrow(UserError);
    expect(() => validatePolicy(policy({}))).toThrow(
      /'keep-last', 'keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly'/,
    );
  });

  it.each([-1, 1.5, Number.NaN])('refuses a count of %s', (n) => {
    expect(() => validatePolicy(policy({ daily: n }))).toThrow(/'keep-daily' must be a whole number/);
  });
});
