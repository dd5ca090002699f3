import { describe, expect, it } from 'vitest';
import { formatBytes, parseDuration, parseIntInput, parseSize } from '../../src/util/units.js';

describe('units', () => {
  it.each([
    ['25h', 90000],
    ['30m', 1800],
    ['1h30m', 5400],
    ['7d', 604800],
    ['2w', 1209600],
    ['90s', 90],
    [' 1.5h ', 5400],
  ])('duration %j = %d s', (v, s) => expect(parseDuration(v, 'max-age')).toBe(s));

  it.each(['soon', '', '25', 'h', '1x', '-5h', '1h soon'])('duration %j is refused naming the input', (v) => {
    expect(() => parseDuration(v, 'max-age')).toThrow(/'max-age' must be a duration/);
  });

  it.each([
    ['500GiB', 500 * 2 ** 30],
    ['2TB', 2e12],
    ['1048576', 1048576],
    ['1.5 gib', 1.5 * 2 ** 30],
    ['10MB', 10e6],
  ])('size %j = %d bytes', (v, b) => expect(parseSize(v, 'capacity')).toBe(b));

  it.each(['lots', '', '5 parsecs', '-1GB'])('size %j is refused naming the input', (v) => {
    expect(() => parseSize(v, 'capacity')).toThrow(/'capacity' must be a size/);
  });

  it.each(['-1', '1.5', 'seven', ''])('keep-daily %j is refused', (v) => {
    expect(() => parseIntInput(v, 'keep-daily')).toThrow(/'keep-daily' must be a whole number 0 or more/);
  });

  it('formats bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 2 ** 30)).toBe('3.0 GiB');
  });
});
