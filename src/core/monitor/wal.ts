/**
 * WAL archiving health from `pg_stat_archiver`: failing when the last failure is newer than the last
 * success, stale when the last archived segment is older than `max-wal-age`. Times are the server's own
 * (`now()`), so the runner's clock does not matter.
 */
import { formatDuration } from '../../util/units.js';
import { type PgConnection, pgSessionConfig } from '../postgres/connection.js';
import { connectClient } from '../postgres/session.js';
import type { CheckResult } from './checks.js';

export interface ArchiverStats {
  archiveMode: string;
  inRecovery: boolean;
  now: Date;
  archivedCount: number;
  lastArchivedWal: string | null;
  lastArchivedTime: Date | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedTime: Date | null;
  statsReset: Date | null;
}

export async function readArchiverStats(conn: PgConnection): Promise<ArchiverStats> {
  const client = await connectClient(pgSessionConfig(conn));
  try {
    const r = await client.query(
      `SELECT current_setting('archive_mode') AS archive_mode, pg_is_in_recovery() AS in_recovery, now() AS now,
              archived_count, last_archived_wal, last_archived_time,
              failed_count, last_failed_wal, last_failed_time, stats_reset
         FROM pg_stat_archiver`,
    );
    const row = r.rows[0] as Record<string, unknown>;
    return {
      archiveMode: String(row.archive_mode),
      inRecovery: row.in_recovery === true,
      now: row.now as Date,
      archivedCount: Number(row.archived_count),
      lastArchivedWal: (row.last_archived_wal as string | null) ?? null,
      lastArchivedTime: (row.last_archived_time as Date | null) ?? null,
      failedCount: Number(row.failed_count),
      lastFailedWal: (row.last_failed_wal as string | null) ?? null,
      lastFailedTime: (row.last_failed_time as Date | null) ?? null,
      statsReset: (row.stats_reset as Date | null) ?? null,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

export function checkWalArchiving(s: ArchiverStats, maxWalAgeSeconds: number, required: boolean): CheckResult {
  const check = 'WAL archiving';
  const threshold = `no failure after the last success; last archive ≤ ${formatDuration(maxWalAgeSeconds)}`;
  const ago = (d: Date): string => `${formatDuration(Math.max(0, (s.now.getTime() - d.getTime()) / 1000))} ago`;
  if (s.archiveMode === 'off') {
    return {
      check,
      value: 'archive_mode = off',
      threshold: required ? 'required' : 'not required',
      level: required ? 'critical' : 'n/a',
      message: required
        ? 'WAL archiving is required (require-wal-archiving) but archive_mode is off'
        : 'WAL archiving is not enabled (archive_mode = off): not applicable',
    };
  }
  if (s.inRecovery && s.archiveMode !== 'always') {
    return {
      check,
      value: `standby, archive_mode = ${s.archiveMode}`,
      threshold,
      level: 'n/a',
      message: 'a standby with archive_mode = on does not archive: check the primary',
    };
  }
  const lastOk = s.lastArchivedTime ? `${s.lastArchivedWal} ${ago(s.lastArchivedTime)}` : 'never';
  if (s.failedCount > 0 && s.lastFailedTime && (!s.lastArchivedTime || s.lastFailedTime > s.lastArchivedTime)) {
    return {
      check,
      value: `failing: ${s.failedCount} failure(s), last ${s.lastFailedWal} ${ago(s.lastFailedTime)}`,
      threshold,
      level: 'critical',
      message: `WAL archiving is failing: archive_command failed for ${s.lastFailedWal} ${ago(s.lastFailedTime)} (${s.failedCount} failure(s) since ${s.statsReset?.toISOString() ?? 'the stats reset'}); last success: ${lastOk}. WAL piles up in pg_wal until it works again`,
    };
  }
  if (!s.lastArchivedTime) {
    return {
      check,
      value: 'nothing archived yet',
      threshold,
      level: 'warning',
      message: `no WAL segment has been archived since ${s.statsReset?.toISOString() ?? 'the stats reset'}`,
    };
  }
  const age = (s.now.getTime() - s.lastArchivedTime.getTime()) / 1000;
  if (age > maxWalAgeSeconds) {
    return {
      check,
      value: `last ${lastOk}`,
      threshold,
      level: 'warning',
      message: `the last WAL segment was archived ${ago(s.lastArchivedTime)} (max-wal-age ${formatDuration(maxWalAgeSeconds)}): is archive_timeout set on a quiet database?`,
    };
  }
  return {
    check,
    value: `last ${lastOk}, ${s.archivedCount} archived`,
    threshold,
    level: 'ok',
    message: 'WAL archiving works',
  };
}
