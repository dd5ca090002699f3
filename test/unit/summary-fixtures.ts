/**
 * Plain values shaped like what the core returns (a manifest, a catalog entry, a table check), for tests
 * of the summaries and charts. One fixed clock, so the snapshots do not move.
 */
import type { TableCheck } from '../../src/core/backups/load.js';
import type { Backup } from '../../src/core/catalog.js';
import { COPY_CHECKSUM_ALGORITHM, type Manifest } from '../../src/core/manifest.js';

export const NOW = new Date('2026-12-01T03:17:42Z');
export const HOUR = 3_600_000;

export function manifest(o: {
  name?: string;
  at: Date;
  size?: number;
  rows?: number;
  tables?: Manifest['tables'];
}): Manifest {
  const name = o.name ?? 'nightly';
  const stamp = o.at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const tables = o.tables ?? [
    { schema: 'public', name: 'events', rows: o.rows ?? 1_180_000, checksum: 'a1' },
    { schema: 'public', name: 'users', rows: 4_200, checksum: 'b2' },
  ];
  return {
    formatVersion: 1,
    tool: { name: 'postgres-dr', version: '0.1.0' },
    name,
    createdAt: o.at.toISOString(),
    completedAt: new Date(o.at.getTime() + 754_000).toISOString(),
    object: { key: `db/${name}/${name}-${stamp}.sql.gz.gpg`, size: o.size ?? 1_932_735_283, sha256: 'ab'.repeat(32) },
    dump: {
      format: 'plain',
      compression: 'gzip',
      compressionLevel: 6,
      database: 'app',
      serverVersion: '16.4',
      serverVersionNum: 160004,
      pgDumpVersion: '16.4',
      dumpSize: 8_589_934_592,
    },
    encryption: { scheme: 'openpgp-passphrase', cipher: 'AES256', keyFingerprint: 'pbkdf2-sha256:600000:x:y' },
    checksumAlgorithm: COPY_CHECKSUM_ALGORITHM,
    tables,
    totals: { tables: tables.length, rows: tables.reduce((a, t) => a + t.rows, 0) },
  };
}

export function backup(o: Parameters<typeof manifest>[0]): Backup {
  const m = manifest(o);
  return {
    name: m.name,
    manifest: m,
    manifestKey: m.object.key.replace(/\.sql\.gz\.gpg$/, '.manifest.json'),
    data: { key: m.object.key, size: m.object.size, lastModified: o.at },
    createdAt: o.at,
  };
}

/** `n` daily backups, newest first (as the catalog lists them), sizes from `size(i)` (i = 0: the oldest). */
export function dailyBackups(n: number, size: (i: number) => number, rows: (i: number) => number = () => 1_184_200) {
  return Array.from({ length: n }, (_, i) =>
    backup({ at: new Date(NOW.getTime() - (n - 1 - i) * 24 * HOUR - 60_000), size: size(i), rows: rows(i) }),
  ).reverse();
}

export function tableCheck(name: string, rows: number, problem: string | null = null, actual = rows): TableCheck {
  return { schema: 'public', name, expectedRows: rows, actualRows: actual, checksumOk: problem === null, problem };
}
