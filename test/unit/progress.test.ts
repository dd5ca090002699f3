/** Progress lines from a fake clock: total from the estimate, elapsed, the recent rate, the ETA, the table. */
import { describe, expect, it } from 'vitest';
import { formatEta, ProgressLine } from '../../src/core/pipeline/progress.js';
import { formatClock, formatCount, formatTime } from '../../src/util/units.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

describe('ProgressLine', () => {
  it('says done of ~estimate, elapsed, the rate since the last line, the ETA and the table', () => {
    const clock = fakeClock();
    const p = new ProgressLine(clock.now, 40 * GiB);
    clock.advance(23 * 60 + 10 - 10);
    p.line(12.3 * GiB - 98 * MiB);
    clock.advance(10);
    expect(p.line(12.3 * GiB, 'public.events')).toBe(
      '12.3 GiB of ~40.0 GiB, 23m10s, 9.8 MiB/s now, ETA 53m, public.events',
    );
  });

  it('has no ETA once the dump outgrows the estimate, and none without one', () => {
    const clock = fakeClock();
    const over = new ProgressLine(clock.now, GiB);
    const none = new ProgressLine(clock.now);
    clock.advance(60);
    expect(over.line(2 * GiB, 'public.t')).toBe(
      '2.0 GiB of ~1.0 GiB, 1m00s, 34.1 MiB/s now, past the estimate, public.t',
    );
    expect(none.line(60 * MiB)).toBe('60.0 MiB, 1m00s, 1.0 MiB/s now');
  });

  it('with an exact total, says "all read" while the consumer still works, without a ~', () => {
    const clock = fakeClock();
    const p = new ProgressLine(clock.now, 860 * 1024, { exact: true });
    clock.advance(2);
    expect(p.line(860 * 1024, 'index on sales.orders (building index: scanning table)')).toBe(
      '860.0 KiB of 860.0 KiB, 2s, 430.0 KiB/s now, all read, index on sales.orders (building index: scanning table)',
    );
  });

  it('shows a stalled stream as 0 B/s now', () => {
    const clock = fakeClock();
    const p = new ProgressLine(clock.now, 10 * GiB);
    clock.advance(10);
    p.line(GiB);
    clock.advance(10);
    expect(p.line(GiB)).toBe('1.0 GiB of ~10.0 GiB, 20s, 0 B/s now, ETA 3m');
  });
});

describe('formatting', () => {
  it.each([
    [42, '42s'],
    [59.6, '1m00s'],
    [23 * 60 + 10, '23m10s'],
    [3600 + 5 * 60, '1h05m'],
  ])('formatClock(%d) = %s', (s, text) => expect(formatClock(s)).toBe(text));

  it.each([
    [30, '30s'],
    [38 * 60, '38m'],
    [38 * 60 + 1, '39m'],
    [2 * 3600 + 60, '2h01m'],
  ])('formatEta(%d) = %s', (s, text) => expect(formatEta(s)).toBe(text));

  it.each([
    [950, '950'],
    [12_345, '12.3K'],
    [4_400_000, '4.4M'],
    [1_180_000, '1.2M'],
    [250_000_000, '250M'],
  ])('formatCount(%d) = %s', (n, text) => expect(formatCount(n)).toBe(text));

  it('formats times for people', () => {
    expect(formatTime('2026-12-01T03:17:42.123Z')).toBe('2026-12-01 03:17 UTC');
    expect(formatTime(new Date('2026-12-01T03:17:59Z'))).toBe('2026-12-01 03:17 UTC');
  });
});
