/**
 * Progress lines for long streams (dump, download, load), in one shape:
 * `12.3 GiB of ~40 GiB, 23m10s, 9.8 MiB/s now, ETA 38m, public.events`.
 * The total is an estimate (the previous backup's dump size), so it carries a `~` and the ETA disappears
 * once the stream outgrows it. Pure apart from the clock it is given, so a fake clock tests it.
 */
import { formatBytes, formatClock, formatRate } from '../../util/units.js';

/** An ETA to the minute (`38m`, `1h05m`); seconds only in the last minute. */
export function formatEta(seconds: number): string {
  if (seconds < 60) return formatClock(seconds);
  const m = Math.ceil(seconds / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}m`;
}

export class ProgressLine {
  private readonly started: number;
  private lastAt: number;
  private lastBytes = 0;

  constructor(
    private readonly now: () => number,
    /** Expected total bytes, when known: an estimate (shown with `~`) unless `exact`. */
    private readonly estimate?: number,
    private readonly o: { exact?: boolean } = {},
  ) {
    this.started = now();
    this.lastAt = this.started;
  }

  /** The line for `bytes` done so far and what is being worked on (`what`: a table, a phase). */
  line(bytes: number, what?: string): string {
    const t = this.now();
    const elapsed = (t - this.started) / 1000;
    const sinceLast = (t - this.lastAt) / 1000;
    const recent = sinceLast > 0 ? Math.max(0, bytes - this.lastBytes) / sinceLast : 0;
    this.lastAt = t;
    this.lastBytes = bytes;
    const parts = [
      this.estimate
        ? `${formatBytes(bytes)} of ${this.o.exact ? '' : '~'}${formatBytes(this.estimate)}`
        : formatBytes(bytes),
      formatClock(elapsed),
      `${formatRate(recent, 1)} now`,
    ];
    // The ETA uses the average rate: the recent one jumps with every large or empty table.
    const average = elapsed > 0 ? bytes / elapsed : 0;
    if (this.estimate && average > 0) {
      // An exact total fully read means the consumer (psql, pg_restore) is still working on it.
      if (bytes < this.estimate) parts.push(`ETA ${formatEta((this.estimate - bytes) / average)}`);
      else if (!this.o.exact && bytes > this.estimate) parts.push('past the estimate');
      else if (this.o.exact) parts.push('all read');
    }
    if (what) parts.push(what);
    return parts.join(', ');
  }
}
