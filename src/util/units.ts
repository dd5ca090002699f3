import { UserError } from './errors.js';

const DURATION_UNITS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
};

/** Parses `90s`, `15m`, `25h`, `7d`, `2w`, `1h30m` into seconds. */
export function parseDuration(value: string, input: string): number {
  const text = value.trim();
  const re = /(\d+(?:\.\d+)?)\s*([smhdw])/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  if (!text || matched !== text.length) {
    throw new UserError(`'${input}' must be a duration like 30m, 25h, 7d or 1h30m (got '${value}')`);
  }
  return total;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** Parses `500GiB`, `1.5TB`, `1048576` into bytes. */
export function parseSize(value: string, input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = m ? SIZE_UNITS[(m[2] as string).toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UserError(`'${input}' must be a size like 500GiB, 2TB or 1048576 (got '${value}')`);
  }
  return Math.round(Number(m[1]) * unit);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const s = Math.round(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const parts: string[] = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (rest && !d) parts.push(`${rest}s`);
  return parts.join(' ');
}

export function formatRate(bytes: number, seconds: number): string {
  return `${formatBytes(seconds > 0 ? bytes / seconds : 0)}/s`;
}

export function parseIntInput(
  value: string,
  input: string,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  const t = value.trim();
  if (!/^-?\d+$/.test(t) || Number(t) < min || Number(t) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UserError(`'${input}' must be a whole number ${range} (got '${value}')`);
  }
  return Number(t);
}

export function parseBoolean(value: string, input: string): boolean {
  const t = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(t)) return true;
  if (['false', 'no', '0', 'off', ''].includes(t)) return false;
  throw new UserError(`'${input}' must be true or false (got '${value}')`);
}

export function parseChoice<T extends string>(value: string, input: string, choices: readonly T[]): T {
  const t = value.trim().toLowerCase();
  if ((choices as readonly string[]).includes(t)) return t as T;
  throw new UserError(`'${input}' must be one of ${choices.join(', ')} (got '${value}')`);
}

/** A point in time as on-call reads it: `2026-12-01 03:17 UTC` (minutes are precise enough for backups). */
export function formatTime(at: Date | string): string {
  const d = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) return String(at);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A count as a reader scans it: 950, 12.3K, 4.4M, 1.2B. */
export function formatCount(n: number): string {
  const a = Math.abs(n);
  const [div, suffix] = a >= 1e9 ? [1e9, 'B'] : a >= 1e6 ? [1e6, 'M'] : a >= 1e3 ? [1e3, 'K'] : [1, ''];
  if (div === 1) return String(Math.round(n));
  const v = n / div;
  return `${Math.abs(v) >= 100 ? Math.round(v) : Number(v.toFixed(1))}${suffix}`;
}

/** A short duration for progress lines and ETAs: `23m10s`, `1h05m`, `42s`. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}
