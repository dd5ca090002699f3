/**
 * The manifest: the one record of what a backup holds. It is written last, after the data object has
 * been stored and checked, so its presence is what makes a backup a backup.
 */
import { IntegrityError } from '../util/errors.js';
import type { Compression, Format } from './layout.js';

export const MANIFEST_FORMAT_VERSION = 1;

/**
 * Row checksum algorithm, documented in docs/layout.md so that anyone can check a restored copy:
 * with TimeZone=UTC, DateStyle=ISO,YMD, IntervalStyle=postgres, extra_float_digits=3, bytea_output=hex,
 *   SELECT count(*), coalesce(sum(('x' || substr(md5(ROW(r.*)::text), 1, 16))::bit(64)::bigint), 0)
 *   FROM <schema>.<table> AS r
 * i.e. the exact sum (numeric, no overflow) of the first 64 bits of each row's md5, as a signed integer:
 * independent of row order.
 */
export const CHECKSUM_ALGORITHM = 'pgdr-row-md5-sum64-v1';

/**
 * Table checksum of plain dumps (since 0.2), read off the dump as it streams, so it costs the database
 * nothing. Each row is a line of the table's data exactly as pg_dump wrote it between
 * `COPY <table> (<columns>) FROM stdin;` and `\.` (without its newline); the checksum is the sum modulo
 * 2^64 of every row's XXH64 (seed 0), as 16 hex digits, and `rows` counts the rows: independent of row
 * order, which a restore does not keep. On a restored copy the same rows come from
 *   COPY <schema>.<table> (<columns>) TO STDOUT (ENCODING '<dump encoding>')
 * with TimeZone=UTC, DateStyle=ISO, IntervalStyle=postgres, extra_float_digits=3, bytea_output=hex.
 * `columns` records pg_dump's column list for that.
 */
export const COPY_CHECKSUM_ALGORITHM = 'pgdr-copy-xxh64-sum-v1';

/** A backup made with `table-checksums: false`: row counts only, every table's checksum ''. */
export const NO_CHECKSUMS = 'none';

export type EncryptionScheme = 'openpgp-passphrase' | 'openpgp-public-key' | 'none';

export interface TableStats {
  schema: string;
  name: string;
  rows: number;
  checksum: string;
  /** pgdr-copy-xxh64-sum-v1: the column list of the table's COPY in the dump. */
  columns?: string;
}

/** A role the database needs (owns objects or holds grants in it): enough to create it, never a password. */
export interface RoleInfo {
  name: string;
  /** Role attributes as in pg_roles (login, superuser, createdb, createrole, inherit, replication, bypassrls). */
  attributes: {
    login: boolean;
    superuser: boolean;
    createdb: boolean;
    createrole: boolean;
    inherit: boolean;
    replication: boolean;
    bypassrls: boolean;
  };
  /** Roles this role is a member of (names), for GRANT … TO. */
  memberOf: string[];
}

/** An extension the dump creates. */
export interface ExtensionInfo {
  name: string;
  version: string;
  schema: string;
}

/** A sequence's state in the dump's snapshot. */
export interface SequenceInfo {
  schema: string;
  name: string;
  lastValue: string;
  isCalled: boolean;
}

/**
 * What a database holds besides table rows, recorded by backup and compared by verify (issue "Restores
 * that work on a fresh server"). Optional: manifests from before it have none, and verify then says so.
 */
export interface DatabaseContents {
  /** Roles the database needs; absent when the backup role could not read them (a warning said so). */
  roles?: RoleInfo[];
  extensions: ExtensionInfo[];
  sequences: SequenceInfo[];
  /** Large objects: how many, and a checksum of their contents (algorithm named in `algorithm`). */
  largeObjects: { count: number; checksum: string; algorithm: string };
  /** Counts per object kind: views, materializedViews, functions, indexes, constraints, triggers. */
  objectCounts: Record<string, number>;
}

export type ChecksumAlgorithm = typeof CHECKSUM_ALGORITHM | typeof COPY_CHECKSUM_ALGORITHM | typeof NO_CHECKSUMS;
const ALGORITHMS: readonly string[] = [CHECKSUM_ALGORITHM, COPY_CHECKSUM_ALGORITHM, NO_CHECKSUMS];

export interface Manifest {
  formatVersion: 1;
  tool: { name: 'postgres-dr'; version: string };
  name: string;
  /** The snapshot time (UTC ISO-8601): the data is as of this instant. */
  createdAt: string;
  completedAt: string;
  object: { key: string; size: number; sha256: string };
  dump: {
    format: Format;
    compression: Compression;
    compressionLevel: number | null;
    database: string;
    serverVersion: string;
    serverVersionNum: number;
    pgDumpVersion: string;
    /** Bytes pg_dump produced (before compression and encryption). */
    dumpSize: number;
    /** The dump's client_encoding (plain dumps; the COPY checksums are of bytes in this encoding). */
    encoding?: string;
  };
  encryption: {
    scheme: EncryptionScheme;
    cipher: 'AES256' | null;
    /**
     * Identifies the key without revealing it: the OpenPGP fingerprint of the public key, or for a
     * passphrase `pbkdf2-sha256:<iterations>:<salt>:<hash>` (a salted PBKDF2 digest,
     * costlier to guess against than the ciphertext itself).
     */
    keyFingerprint: string | null;
  };
  checksumAlgorithm: ChecksumAlgorithm;
  tables: TableStats[];
  totals: { tables: number; rows: number };
  /** A stand-in written by `pgdr synth` for tests and retention rehearsals: never restored, never "fresh". */
  synthetic?: true;
  /** Roles, extensions, sequences, large objects and object counts (absent in older manifests). */
  contents?: DatabaseContents;
}

function fail(message: string): never {
  throw new IntegrityError(`invalid manifest: ${message}`, 'missing-manifest');
}

function str(o: Record<string, unknown>, k: string, path: string): string {
  const v = o[k];
  if (typeof v !== 'string') fail(`${path}${k} must be a string`);
  return v;
}

function num(o: Record<string, unknown>, k: string, path: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`${path}${k} must be a non-negative number`);
  return v;
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${path} must be an object`);
  return v as Record<string, unknown>;
}

function isoDate(o: Record<string, unknown>, k: string): string {
  const v = str(o, k, '');
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v) || Number.isNaN(Date.parse(v))) {
    fail(`${k} must be an ISO-8601 UTC time`);
  }
  return v;
}

/** Parses and validates a manifest; throws IntegrityError naming the first problem. */
export function parseManifest(text: string | Buffer): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text.toString());
  } catch (err) {
    fail(`not JSON (${(err as Error).message})`);
  }
  const m = obj(raw, 'manifest');
  if (m.formatVersion !== MANIFEST_FORMAT_VERSION) {
    fail(`formatVersion ${String(m.formatVersion)} is not supported (this version reads ${MANIFEST_FORMAT_VERSION})`);
  }
  const tool = obj(m.tool, 'tool');
  const object = obj(m.object, 'object');
  const dump = obj(m.dump, 'dump');
  const enc = obj(m.encryption, 'encryption');
  if (!Array.isArray(m.tables)) fail('tables must be an array');
  const tables = (m.tables as unknown[]).map((t, i) => {
    const o = obj(t, `tables[${i}]`);
    return {
      schema: str(o, 'schema', `tables[${i}].`),
      name: str(o, 'name', `tables[${i}].`),
      rows: num(o, 'rows', `tables[${i}].`),
      checksum: str(o, 'checksum', `tables[${i}].`),
      ...(typeof o.columns === 'string' ? { columns: o.columns } : {}),
    };
  });
  const sha256 = str(object, 'sha256', 'object.');
  if (!/^[0-9a-f]{64}$/.test(sha256)) fail('object.sha256 must be 64 hex digits');
  const format = str(dump, 'format', 'dump.');
  if (format !== 'plain' && format !== 'custom') fail(`dump.format '${format}' is unknown`);
  const compression = str(dump, 'compression', 'dump.');
  if (!['gzip', 'zstd', 'none'].includes(compression)) fail(`dump.compression '${compression}' is unknown`);
  const scheme = str(enc, 'scheme', 'encryption.');
  if (!['openpgp-passphrase', 'openpgp-public-key', 'none'].includes(scheme)) {
    fail(`encryption.scheme '${scheme}' is unknown`);
  }
  const algorithm = m.checksumAlgorithm;
  if (typeof algorithm !== 'string' || !ALGORITHMS.includes(algorithm)) {
    fail(`checksumAlgorithm must be one of ${ALGORITHMS.join(', ')}`);
  }
  if (algorithm === COPY_CHECKSUM_ALGORITHM && tables.some((t) => t.columns === undefined)) {
    fail(`every table needs its columns with ${COPY_CHECKSUM_ALGORITHM}`);
  }
  const level = dump.compressionLevel;
  const totals = obj(m.totals, 'totals');
  return {
    formatVersion: 1,
    tool: { name: 'postgres-dr', version: str(tool, 'version', 'tool.') },
    name: str(m, 'name', ''),
    createdAt: isoDate(m, 'createdAt'),
    completedAt: isoDate(m, 'completedAt'),
    object: { key: str(object, 'key', 'object.'), size: num(object, 'size', 'object.'), sha256 },
    dump: {
      format,
      compression: compression as Compression,
      compressionLevel: typeof level === 'number' ? level : null,
      database: str(dump, 'database', 'dump.'),
      serverVersion: str(dump, 'serverVersion', 'dump.'),
      serverVersionNum: num(dump, 'serverVersionNum', 'dump.'),
      pgDumpVersion: str(dump, 'pgDumpVersion', 'dump.'),
      dumpSize: num(dump, 'dumpSize', 'dump.'),
      ...(typeof dump.encoding === 'string' ? { encoding: dump.encoding } : {}),
    },
    encryption: {
      scheme: scheme as EncryptionScheme,
      cipher: enc.cipher === 'AES256' ? 'AES256' : null,
      keyFingerprint: typeof enc.keyFingerprint === 'string' ? enc.keyFingerprint : null,
    },
    checksumAlgorithm: algorithm as ChecksumAlgorithm,
    tables,
    totals: { tables: num(totals, 'tables', 'totals.'), rows: num(totals, 'rows', 'totals.') },
    ...(m.synthetic === true ? { synthetic: true as const } : {}),
    ...(m.contents !== undefined ? { contents: parseContents(m.contents) } : {}),
  };
}

function bool(o: Record<string, unknown>, k: string, path: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') fail(`${path}${k} must be true or false`);
  return v;
}

function strings(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(`${path} must be an array of strings`);
  return v as string[];
}

/** The `contents` section: every name is a string, every count a number (they are quoted, never spliced). */
function parseContents(v: unknown): DatabaseContents {
  const c = obj(v, 'contents');
  const list = (k: string): Record<string, unknown>[] => {
    if (!Array.isArray(c[k])) fail(`contents.${k} must be an array`);
    return (c[k] as unknown[]).map((x, i) => obj(x, `contents.${k}[${i}]`));
  };
  const roles =
    c.roles === undefined
      ? undefined
      : list('roles').map((r, i) => {
          const p = `contents.roles[${i}].`;
          const a = obj(r.attributes, `${p}attributes`);
          return {
            name: str(r, 'name', p),
            attributes: {
              login: bool(a, 'login', `${p}attributes.`),
              superuser: bool(a, 'superuser', `${p}attributes.`),
              createdb: bool(a, 'createdb', `${p}attributes.`),
              createrole: bool(a, 'createrole', `${p}attributes.`),
              inherit: bool(a, 'inherit', `${p}attributes.`),
              replication: bool(a, 'replication', `${p}attributes.`),
              bypassrls: bool(a, 'bypassrls', `${p}attributes.`),
            },
            memberOf: strings(r.memberOf, `${p}memberOf`),
          };
        });
  const lo = obj(c.largeObjects, 'contents.largeObjects');
  const counts = obj(c.objectCounts, 'contents.objectCounts');
  return {
    ...(roles ? { roles } : {}),
    extensions: list('extensions').map((e, i) => ({
      name: str(e, 'name', `contents.extensions[${i}].`),
      version: str(e, 'version', `contents.extensions[${i}].`),
      schema: str(e, 'schema', `contents.extensions[${i}].`),
    })),
    sequences: list('sequences').map((s, i) => ({
      schema: str(s, 'schema', `contents.sequences[${i}].`),
      name: str(s, 'name', `contents.sequences[${i}].`),
      lastValue: str(s, 'lastValue', `contents.sequences[${i}].`),
      isCalled: bool(s, 'isCalled', `contents.sequences[${i}].`),
    })),
    largeObjects: {
      count: num(lo, 'count', 'contents.largeObjects.'),
      checksum: str(lo, 'checksum', 'contents.largeObjects.'),
      algorithm: str(lo, 'algorithm', 'contents.largeObjects.'),
    },
    objectCounts: Object.fromEntries(Object.keys(counts).map((k) => [k, num(counts, k, 'contents.objectCounts.')])),
  };
}

export function serializeManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}
