/**
 * The monitor use case: is the backup system healthy right now? Reads the catalog once and runs every
 * check (backup age, storage used, size and row trend, interrupted backups, bucket settings, WAL
 * archiving); the worst verdict is the status. Silent backup failure is the most common way teams lose
 * data, so "no backup at all" and "the newest backup is too old" are critical.
 */
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { type Backup, readCatalog } from './catalog.js';
import { type AuthKeys, manifestVerifier } from './manifest-auth.js';
import { auditBucket, type BucketAuditor } from './monitor/buckets.js';
import {
  type CheckResult,
  checkBackupAge,
  checkIncomplete,
  checkTableDrops,
  checkTrend,
  checkUnauthenticated,
  checkUsage,
  trendCharts,
  worst,
} from './monitor/checks.js';
import { type ArchiverStats, checkWalArchiving } from './monitor/wal.js';
import type { Storage } from './storage/index.js';

export interface MonitorPolicy {
  maxAgeSeconds: number;
  capacityBytes?: number;
  warnPercent: number;
  criticalPercent: number;
  minSizeRatio: number;
  /** A table losing more than this percentage of its rows since the previous backup is a warning. */
  maxTableDropPercent: number;
  auditBuckets: string[];
  requireReplication: boolean;
  maxWalAgeSeconds: number;
  requireWalArchiving: boolean;
}

export interface MonitorConfig {
  prefix: string;
  /** One backup set; default every set under the prefix. */
  name?: string;
  policy: MonitorPolicy;
  /** The keys that authenticate manifests (at least one): only authenticated backups count. */
  authKeys: AuthKeys;
}

export interface MonitorDeps {
  storage: Storage;
  auditor?: BucketAuditor;
  /** Reads pg_stat_archiver (when database-url was given). */
  archiver?: () => Promise<ArchiverStats>;
  log: Logger;
  signal?: AbortSignal;
  now?: () => Date;
}

export interface MonitorResult {
  status: 'ok' | 'warning' | 'critical';
  checks: CheckResult[];
  /** The newest backup of the stalest set (the one that matters), when there is one. */
  /** The stalest set's newest real backup; `serverMajor` is the PostgreSQL major it was dumped from ('17', '9.6'). */
  newest?: { key: string; ageSeconds: number; set: string; serverMajor: string };
  usedBytes: number;
  usedPercent?: number;
  sets: string[];
  charts: string[];
}

export async function runMonitor(c: MonitorConfig, deps: MonitorDeps): Promise<MonitorResult> {
  const now = (deps.now ?? (() => new Date()))();
  const p = c.policy;
  const checks: CheckResult[] = [];
  const charts: string[] = [];
  // All sets are read even for one `name`: usage counts every object under the prefix.
  const verifier = await manifestVerifier(c.authKeys);
  if (!verifier)
    throw new Error('monitor needs a key to authenticate backups (encryption-passphrase or signing-public-key)');
  const log = deps.log;
  const catalog = await log
    .group(`Reading ${deps.storage.location}/${c.prefix}`, async () => {
      const read = await readCatalog(deps.storage, c.prefix, undefined, { verifier, signal: deps.signal });
      log.info(
        `${read.objects.length} object(s), ${read.backups.length} authenticated backup(s), ${read.incomplete.length} without manifest, ${read.broken.length} broken, ${read.unauthenticated.length} unauthenticated`,
      );
      return read;
    })
    .finally(() => verifier.close());
  const sets = c.name
    ? [c.name]
    : [
        ...new Set(
          [...catalog.backups, ...catalog.incomplete, ...catalog.broken, ...catalog.unauthenticated].map((b) => b.name),
        ),
      ].sort();
  if (!sets.length) {
    checks.push({
      check: 'Backups',
      value: 'none',
      threshold: 'at least one',
      level: 'critical',
      message: `no backups at all under ${deps.storage.location}/${c.prefix}`,
    });
  }
  let newest: MonitorResult['newest'];
  for (const set of sets) {
    const backups: Backup[] = catalog.backups.filter((b) => b.name === set);
    // A synthetic backup (pgdr synth) holds no data: it never makes a set look fresh.
    const real = backups.filter((b) => !b.manifest.synthetic);
    const age = checkBackupAge(set, real, now, p.maxAgeSeconds);
    checks.push(age);
    const first = real[0];
    if (first) {
      const ageSeconds = Math.max(0, Math.round((now.getTime() - first.createdAt.getTime()) / 1000));
      if (!newest || ageSeconds > newest.ageSeconds) {
        newest = { key: first.data.key, ageSeconds, set, serverMajor: majorOf(first.manifest.dump.serverVersionNum) };
      }
    }
    const incomplete = checkIncomplete(set, catalog);
    if (incomplete) checks.push(incomplete);
    const untrusted = checkUnauthenticated(set, catalog);
    if (untrusted) checks.push(untrusted);
    checks.push(...checkTrend(set, backups, p.minSizeRatio));
    checks.push(checkTableDrops(set, backups, p.maxTableDropPercent));
    const chart = trendCharts(set, backups);
    if (chart && charts.length < 5) charts.push(chart);
  }
  const usedBytes = catalog.objects.reduce((n, o) => n + o.size, 0);
  checks.push(checkUsage(usedBytes, p.capacityBytes, p.warnPercent, p.criticalPercent));

  if (p.auditBuckets.length && deps.auditor) {
    const auditor = deps.auditor;
    for (const bucket of p.auditBuckets) checks.push(...(await auditBucket(auditor, bucket, p.requireReplication)));
  }
  if (deps.archiver) {
    try {
      checks.push(checkWalArchiving(await deps.archiver(), p.maxWalAgeSeconds, p.requireWalArchiving));
    } catch (err) {
      checks.push({
        check: 'WAL archiving',
        value: 'unknown',
        threshold: 'readable',
        level: 'warning',
        message: `could not read pg_stat_archiver: ${describeError(err)}`,
      });
    }
  }
  return {
    status: worst(checks.map((x) => x.level)),
    checks,
    newest,
    usedBytes,
    usedPercent: p.capacityBytes ? Math.round((usedBytes / p.capacityBytes) * 1000) / 10 : undefined,
    sets,
    charts,
  };
}

/** server_version_num → the major as PostgreSQL names it: 170002 → '17', 90624 → '9.6'; 0 (unknown) → ''. */
export function majorOf(versionNum: number): string {
  if (!Number.isInteger(versionNum) || versionNum <= 0) return '';
  if (versionNum >= 100000) return String(Math.floor(versionNum / 10000));
  return `${Math.floor(versionNum / 10000)}.${Math.floor(versionNum / 100) % 100}`;
}
