/** The per-table rows verify and restore both report. */
import type { TableCheck } from '../core/backups/load.js';
/** `checksums` false: the backup recorded row counts only (table-checksums: false). */
export function tableRows(checks: TableCheck[], checksums = true): string[][] {
  return checks.map((c) => [
    `${c.schema}.${c.name}`,
    c.expectedRows === null ? '—' : c.expectedRows.toLocaleString('en-US'),
    c.actualRows === null ? '—' : c.actualRows.toLocaleString('en-US'),
    c.expectedRows === null || c.actualRows === null
      ? '—'
      : !checksums
        ? 'not recorded'
        : c.checksumOk
          ? 'ok'
          : 'DIFFERS',
    c.problem === null ? '✅' : `❌ ${c.problem}`,
  ]);
}

export const TABLE_HEADER = ['Table', 'Expected rows', 'Actual rows', 'Checksum', 'Status'];
