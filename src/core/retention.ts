/**
 * Retention: a pure function from (backups, policy, now) to one decision per backup, with the rules that
 * kept it. Semantics are restic's `forget --keep-*`:
 *
 * - Each set (`name`) is decided on its own, newest first by `createdAt` (ties: manifest key, descending).
 * - For each rule with a count n > 0, walk newest → oldest. A backup whose bucket (last: itself; daily
 *   YYYY-MM-DD; weekly ISO year-week; monthly YYYY-MM; yearly YYYY) differs from the previous backup's is
 *   the newest of its bucket: it is kept and counted, until n buckets are taken. Only buckets that hold a
 *   backup count. If the rule still has counts left at the oldest backup, the oldest is kept too.
 * - A backup is kept if any rule keeps it.
 *
 * Paranoia on top of restic: buckets are computed in UTC only; a backup dated after `now` is kept
 * ("future") and takes no bucket, so a wrong clock cannot evict real backups; a backup whose time is not a
 * number is kept ("invalid time"); the newest backup of each set is always kept.
 */
import { UserError } from '../util/errors.js';

export const RETENTION_RULES = ['last', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export type RetentionRule = (typeof RETENTION_RULES)[number];
export type RetentionPolicy = Record<RetentionRule, number>;

export const DEFAULT_POLICY: RetentionPolicy = { last: 1, daily: 7, weekly: 4, monthly: 12, yearly: 0 };

/** The action input that sets each rule's count. */
export const RULE_INPUT: Record<RetentionRule, string> = {
  last: 'keep-last',
  daily: 'keep-daily',
  weekly: 'keep-weekly',
  monthly: 'keep-monthly',
  yearly: 'keep-yearly',
};

/** What retention needs of a backup: its set, its snapshot time and its manifest key (unique; orders ties). */
export interface Dated {
  name: string;
  manifestKey: string;
  createdAt: Date;
}

export interface RetentionDecision<T extends Dated = Dated> {
  backup: T;
  keep: boolean;
  /** Why it is kept, e.g. `['last 1/1', 'daily 1/7', 'weekly 1/4']`; empty when deleted. */
  reasons: string[];
}

/** Refuses a policy that would keep nothing (or holds counts that are not whole numbers ≥ 0). */
export function validatePolicy(policy: RetentionPolicy): RetentionPolicy {
  for (const rule of RETENTION_RULES) {
    const n = policy[rule];
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new UserError(`'${RULE_INPUT[rule]}' must be a whole number 0 or more (got ${n})`);
    }
  }
  if (RETENTION_RULES.every((r) => policy[r] === 0)) {
    throw new UserError(
      `every keep-* input is 0, which would delete every backup: set at least one of ${RETENTION_RULES.map(
        (r) => `'${RULE_INPUT[r]}'`,
      ).join(', ')} above 0`,
    );
  }
  return policy;
}

const DAY_MS = 86_400_000;

/** ISO-8601 week of a UTC day, as `YYYY-Www` (the week's year is the year of its Thursday). */
export function isoWeekUTC(date: Date): string {
  const day = Math.floor(date.getTime() / DAY_MS); // days since 1970-01-01 (a Thursday)
  const weekday = (((day + 3) % 7) + 7) % 7; // 0 = Monday … 6 = Sunday
  const thursday = new Date((day - weekday + 3) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS / 7) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The bucket of a backup for a time rule, in UTC. */
export function bucketOf(rule: Exclude<RetentionRule, 'last'>, date: Date): string {
  const iso = date.toISOString(); // always UTC, whatever TZ says
  switch (rule) {
    case 'daily':
      return iso.slice(0, 10);
    case 'weekly':
      return isoWeekUTC(date);
    case 'monthly':
      return iso.slice(0, 7);
    case 'yearly':
      return iso.slice(0, 4);
  }
}

function newestFirst(a: Dated, b: Dated): number {
  const ak = a.manifestKey;
  const bk = b.manifestKey;
  return b.createdAt.getTime() - a.createdAt.getTime() || (ak < bk ? 1 : ak > bk ? -1 : 0);
}

/**
 * Decides which backups to keep. Returns one decision per backup, newest first within each set (sets in
 * order of their name). Throws UserError for a policy that keeps nothing.
 */
export function applyRetention<T extends Dated>(
  backups: readonly T[],
  policy: RetentionPolicy,
  now: Date,
): RetentionDecision<T>[] {
  validatePolicy(policy);
  const sets = new Map<string, T[]>();
  for (const b of backups) {
    const list = sets.get(b.name);
    if (list) list.push(b);
    else sets.set(b.name, [b]);
  }
  const out: RetentionDecision<T>[] = [];
  for (const name of [...sets.keys()].sort()) {
    out.push(...decideSet(sets.get(name) as T[], policy, now.getTime()));
  }
  return out;
}

function decideSet<T extends Dated>(set: T[], policy: RetentionPolicy, now: number): RetentionDecision<T>[] {
  const invalid: T[] = [];
  const dated: T[] = [];
  for (const b of set) (Number.isFinite(b.createdAt.getTime()) ? dated : invalid).push(b);
  dated.sort(newestFirst);
  const decisions = dated.map((backup) => ({ backup, keep: false, reasons: [] as string[] }));
  // Future backups are kept and take no bucket: the walk sees only those at or before now.
  const walk = decisions.filter((d) => {
    if (d.backup.createdAt.getTime() <= now) return true;
    d.keep = true;
    d.reasons.push('future');
    return false;
  });
  for (const rule of RETENTION_RULES) {
    const n = policy[rule];
    if (n <= 0) continue;
    let taken = 0;
    let last: string | undefined;
    for (let i = 0; i < walk.length && taken < n; i++) {
      const d = walk[i] as RetentionDecision<T>;
      const bucket = rule === 'last' ? String(i) : bucketOf(rule, d.backup.createdAt);
      if (bucket !== last) {
        taken++;
        d.keep = true;
        d.reasons.push(`${rule} ${taken}/${n}`);
        last = bucket;
      } else if (i === walk.length - 1) {
        // Counts left at the oldest backup: keep it too, for the longest history (as restic does).
        d.keep = true;
        d.reasons.push(`${rule} (oldest)`);
      }
    }
  }
  // Whatever the policy, the newest backup of a set is never deleted.
  const newest = walk[0];
  if (newest && !newest.keep) {
    newest.keep = true;
    newest.reasons.push('newest');
  }
  for (const backup of invalid) decisions.push({ backup, keep: true, reasons: ['invalid time'] });
  return decisions;
}
