/** Properties of retention over random sets of backups, policies and clocks (fast-check). */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { applyRetention, bucketOf, RETENTION_RULES, type RetentionDecision } from '../../src/core/retention.js';

interface B {
  name: string;
  manifestKey: string;
  createdAt: Date;
}

const FROM = Date.parse('2015-01-01T00:00:00Z');
const TO = Date.parse('2035-01-01T00:00:00Z');

/** Times cluster (several a day, gaps of weeks) as well as spread over years. */
const timeArb = fc.oneof(
  fc.integer({ min: FROM, max: TO }),
  fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2025-03-01T00:00:00Z') }),
  fc.integer({ min: Date.parse('2025-03-08T00:00:00Z'), max: Date.parse('2025-03-12T00:00:00Z') }),
);

const backupsArb = fc
  .uniqueArray(fc.record({ name: fc.constantFrom('db1', 'db10', 'x'), t: timeArb }), {
    selector: (b) => `${b.name}@${Math.floor(b.t / 1000)}`,
    maxLength: 150,
  })
  .map((list) =>
    list.map(
      ({ name, t }): B => ({
        name,
        manifestKey: `p/${name}/${Math.floor(t / 1000)}.manifest.json`,
        createdAt: new Date(Math.floor(t / 1000) * 1000),
      }),
    ),
  );

const policyArb = fc
  .record({
    last: fc.nat({ max: 12 }),
    daily: fc.nat({ max: 12 }),
    weekly: fc.nat({ max: 12 }),
    monthly: fc.nat({ max: 12 }),
    yearly: fc.nat({ max: 5 }),
  })
  .filter((p) => RETENTION_RULES.some((r) => p[r] > 0));

const nowArb = fc.integer({ min: FROM, max: TO }).map((t) => new Date(t));

const kept = (ds: RetentionDecision<B>[]): B[] => ds.filter((d) => d.keep).map((d) => d.backup);
const bySet = (bs: B[]): Map<string, B[]> => {
  const m = new Map<string, B[]>();
  for (const b of bs) m.set(b.name, [...(m.get(b.name) ?? []), b]);
  return m;
};

/** An independent statement of one rule: the newest backup of each of the n newest buckets, plus the oldest when fewer than n buckets exist. */
function oracle(set: B[], rule: (typeof RETENTION_RULES)[number], n: number, now: Date): Set<B> {
  const past = set
    .filter((b) => b.createdAt <= now)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.manifestKey < b.manifestKey ? 1 : -1));
  if (n === 0 || past.length === 0) return new Set();
  const buckets = new Map<string, B>();
  past.forEach((b, i) => {
    const k = rule === 'last' ? String(i) : bucketOf(rule, b.createdAt);
    if (!buckets.has(k)) buckets.set(k, b);
  });
  const out = new Set([...buckets.values()].slice(0, n));
  if (buckets.size < n) out.add(past[past.length - 1] as B);
  return out;
}

const originalTz = process.env.TZ;
afterEach(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

describe('retention properties', () => {
  it('decides every backup exactly once: kept ∪ deleted = all, disjoint', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, nowArb, (backups, policy, now) => {
        const ds = applyRetention(backups, policy, now);
        expect(ds).toHaveLength(backups.length);
        expect(new Set(ds.map((d) => d.backup)).size).toBe(backups.length);
        for (const d of ds) expect(d.keep).toBe(d.reasons.length > 0);
      }),
    );
  });

  it('always keeps the newest backup of every set, and every backup from the future', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, nowArb, (backups, policy, now) => {
        const keep = new Set(kept(applyRetention(backups, policy, now)));
        for (const set of bySet(backups).values()) {
          const newest = set.reduce((a, b) => (b.createdAt > a.createdAt ? b : a));
          expect(keep.has(newest)).toBe(true);
          const newestPast = set.filter((b) => b.createdAt <= now).sort((a, b) => +b.createdAt - +a.createdAt)[0];
          if (newestPast) expect(keep.has(newestPast)).toBe(true);
          for (const b of set) if (b.createdAt > now) expect(keep.has(b)).toBe(true);
        }
      }),
    );
  });

  it('never keeps more per rule than the policy asks', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, nowArb, (backups, policy, now) => {
        const ds = applyRetention(backups, policy, now);
        for (const set of bySet(ds.map((d) => d.backup)).keys()) {
          for (const rule of RETENTION_RULES) {
            const count = ds.filter((d) => d.backup.name === set && d.reasons.some((r) => r.startsWith(`${rule} `)));
            expect(count.length).toBeLessThanOrEqual(policy[rule]);
          }
        }
      }),
    );
  });

  it('deletes nothing when rerun on what it kept (with the same clock)', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, nowArb, (backups, policy, now) => {
        const first = kept(applyRetention(backups, policy, now));
        const second = applyRetention(first, policy, now);
        expect(second.filter((d) => !d.keep).map((d) => d.backup)).toEqual([]);
      }),
    );
  });

  it('keeps exactly what an independent statement of each rule keeps', () => {
    fc.assert(
      fc.property(backupsArb, policyArb, nowArb, (backups, policy, now) => {
        const keep = new Set(kept(applyRetention(backups, policy, now)));
        for (const set of bySet(backups).values()) {
          const expected = new Set<B>(set.filter((b) => b.createdAt > now));
          for (const rule of RETENTION_RULES) for (const b of oracle(set, rule, policy[rule], now)) expected.add(b);
          expect(new Set(set.filter((b) => keep.has(b)))).toEqual(expected);
        }
      }),
    );
  });

  it('decides the same in every time zone', () => {
    fc.assert(
      fc.property(
        backupsArb,
        policyArb,
        nowArb,
        fc.constantFrom('America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Pacific/Chatham'),
        (backups, policy, now, tz) => {
          process.env.TZ = 'UTC';
          const utc = applyRetention(backups, policy, now).map((d) => [d.backup.manifestKey, d.reasons]);
          process.env.TZ = tz;
          expect(new Date('2025-01-15T12:00:00Z').getTimezoneOffset()).not.toBe(0);
          expect(applyRetention(backups, policy, now).map((d) => [d.backup.manifestKey, d.reasons])).toEqual(utc);
        },
      ),
      { numRuns: 50 },
    );
  });
});
