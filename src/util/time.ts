/** Times as people read them in an alert at 3 a.m.: `2026-12-01 03:17 UTC` (no seconds, no `T`/`Z`). */
export function formatUtcMinute(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
