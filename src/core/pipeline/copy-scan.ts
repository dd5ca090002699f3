/**
 * Table contents read off a plain dump as it streams past (algorithm `pgdr-copy-xxh64-sum-v1`, see
 * manifest.ts): for every table's `COPY <table> (<columns>) FROM stdin;` section, the number of rows and
 * the sum (mod 2^64) of each row's XXH64 — rows as pg_dump wrote them, which is exactly what
 * `COPY <table> (<columns>) TO STDOUT` returns for the same table with pg_dump's output settings. A sum
 * does not depend on row order (a restore does not keep it: new rows fill space left on earlier pages).
 * The scan holds no row data: a row cut by a chunk boundary is hashed incrementally.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { TextDecoder } from 'node:util';
import xxhash from 'xxhash-wasm';

type XXHash = Awaited<ReturnType<typeof xxhash>>;
type XXHash64 = ReturnType<XXHash['create64']>;
let loading: Promise<XXHash> | undefined;

/** The XXH64 implementation (WebAssembly, loaded once). */
export function rowHasher(): Promise<XXHash> {
  loading ??= xxhash();
  return loading;
}

const MASK64 = (1n << 64n) - 1n;

/** Rows (newline-terminated lines) counted and, with a hasher, summed as XXH64 (seed 0) of each row's bytes. */
export class RowDigest {
  rows = 0;
  private sum = 0n;
  private partial: XXHash64 | null = null;
  private readonly xx: XXHash | null;

  constructor(xx: XXHash | null) {
    this.xx = xx;
  }

  /** Feeds bytes `buf[start, end)`: any mix of whole rows and a row's start or end. */
  update(buf: Buffer, start = 0, end = buf.length): void {
    let s = start;
    let p = buf.indexOf(10, s);
    while (p !== -1 && p < end) {
      this.endRow(buf, s, p);
      s = p + 1;
      p = buf.indexOf(10, s);
    }
    if (s < end) this.rowPart(buf, s, end);
  }

  /** `buf[start, end)` is a row's text (or its remainder), without the newline that ends it. */
  endRow(buf: Buffer, start: number, end: number): void {
    this.rows++;
    if (!this.xx) return;
    let h: bigint;
    if (this.partial) {
      h = this.partial.update(buf.subarray(start, end)).digest();
      this.partial = null;
    } else h = this.xx.h64Raw(buf.subarray(start, end));
    this.sum = (this.sum + h) & MASK64;
  }

  /** `buf[start, end)` is part of a row that goes on in the next chunk. */
  rowPart(buf: Buffer, start: number, end: number): void {
    if (!this.xx || end <= start) return;
    this.partial ??= this.xx.create64();
    this.partial.update(buf.subarray(start, end));
  }

  /** Adds another part of the same table (the sum is order-free). */
  merge(other: RowDigest): void {
    this.rows += other.rows;
    this.sum = (this.sum + other.sum) & MASK64;
  }

  /** 16 hex digits, or '' without hashing. */
  digest(): string {
    return this.xx ? this.sum.toString(16).padStart(16, '0') : '';
  }
}

export interface CopySection {
  schema: string;
  name: string;
  /** The column list exactly as pg_dump wrote it between the parentheses ('' for a table without columns). */
  columns: string;
  rows: number;
  /** pgdr-copy-xxh64-sum-v1 of the rows (16 hex digits), '' when hashing is off. */
  checksum: string;
}

/** Parses pg_dump's `COPY <schema>.<table> (<columns>) FROM stdin;` line; null for anything else. */
export function parseCopyHeader(line: string): { schema: string; name: string; columns: string } | null {
  const suffix = ' FROM stdin;';
  if (!line.startsWith('COPY ') || !line.endsWith(suffix)) return null;
  const schema = readIdent(line, 5);
  if (!schema || line[schema.next] !== '.') return null;
  const name = readIdent(line, schema.next + 1);
  if (!name || line[name.next] !== ' ') return null;
  const rest = line.slice(name.next + 1, line.length - suffix.length);
  let columns: string;
  if (rest === '') columns = '';
  else if (rest.startsWith('(') && rest.endsWith(')')) columns = rest.slice(1, -1);
  else return null;
  return { schema: schema.value, name: name.value, columns };
}

/** An identifier as pg_dump's fmtId writes it: "quoted" (with "" for ") or bare. */
function readIdent(s: string, i: number): { value: string; next: number } | null {
  if (s[i] === '"') {
    let value = '';
    let j = i + 1;
    for (;;) {
      const q = s.indexOf('"', j);
      if (q === -1) return null;
      value += s.slice(j, q);
      if (s[q + 1] === '"') {
        value += '"';
        j = q + 2;
      } else return { value, next: q + 1 };
    }
  }
  let j = i;
  while (j < s.length && s[j] !== '.' && s[j] !== ' ') j++;
  return j > i ? { value: s.slice(i, j), next: j } : null;
}

/** TextDecoder labels for PostgreSQL encoding names (identifiers in a dump are in its client_encoding). */
const DECODER_LABEL: Record<string, string> = {
  UTF8: 'utf-8',
  SQL_ASCII: 'utf-8',
  LATIN1: 'iso-8859-1',
  LATIN2: 'iso-8859-2',
  LATIN3: 'iso-8859-3',
  LATIN4: 'iso-8859-4',
  LATIN5: 'iso-8859-9',
  LATIN6: 'iso-8859-10',
  LATIN7: 'iso-8859-13',
  LATIN8: 'iso-8859-14',
  LATIN9: 'iso-8859-15',
  LATIN10: 'iso-8859-16',
  WIN1250: 'windows-1250',
  WIN1251: 'windows-1251',
  WIN1252: 'windows-1252',
  WIN1253: 'windows-1253',
  WIN1254: 'windows-1254',
  WIN1255: 'windows-1255',
  WIN1256: 'windows-1256',
  WIN1257: 'windows-1257',
  WIN1258: 'windows-1258',
  KOI8R: 'koi8-r',
  KOI8U: 'koi8-u',
  EUC_JP: 'euc-jp',
  EUC_KR: 'euc-kr',
  SJIS: 'shift_jis',
  BIG5: 'big5',
  GBK: 'gbk',
  GB18030: 'gb18030',
};

function decoderFor(encoding: string | null): TextDecoder {
  try {
    return new TextDecoder(DECODER_LABEL[encoding ?? 'UTF8'] ?? 'utf-8');
  } catch {
    return new TextDecoder('utf-8');
  }
}

const NL = 10;
/** Longest SQL line kept between chunks; longer lines are skipped (a COPY header is far shorter). */
const MAX_SQL_LINE = 4 * 1024 * 1024;
const DATA_COMMENT = Buffer.from('-- Data for Name: ');
const TABLE_DATA = '; Type: TABLE DATA;';
const COPY = Buffer.from('COPY ');
const ENCODING_PREFIX = "SET client_encoding = '";

/**
 * A pass-through stage over a plain dump that records every table-data section. A COPY line counts
 * only right after pg_dump's "-- Data for Name: …; Type: TABLE DATA;" comment block, so a function body
 * that happens to contain such a line is not mistaken for data.
 */
export class CopyScanner extends Transform {
  readonly sections: CopySection[] = [];
  /** The dump's client_encoding (from its `SET client_encoding = '…';` line). */
  encoding: string | null = null;

  private mode: 'sql' | 'data' = 'sql';
  private sqlLine: Buffer[] = [];
  private sqlLineLength = 0;
  private afterDataComment = false;
  private current: { header: NonNullable<ReturnType<typeof parseCopyHeader>>; digest: RowDigest } | null = null;
  private atLineStart = true;
  /** Up to two bytes at a data line start that may begin the `\.` terminator. */
  private pending: Buffer | null = null;

  private readonly xx: XXHash | null;

  /** `xx`: from rowHasher(); null counts rows without hashing them. */
  constructor(xx: XXHash | null) {
    super();
    this.xx = xx;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.scan(this.pending ? Buffer.concat([this.pending, chunk]) : chunk);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.mode === 'data') {
      const t = this.current?.header;
      cb(new Error(`the dump is incomplete: the data of table ${t?.schema}.${t?.name} is not terminated`));
    } else cb();
  }

  private scan(buf: Buffer): void {
    this.pending = null;
    let p = 0;
    while (p < buf.length) {
      if (this.mode === 'data') {
        p = this.scanData(buf, p);
        continue;
      }
      const nl = buf.indexOf(NL, p);
      if (nl === -1) {
        this.keepSql(buf.subarray(p));
        return;
      }
      this.keepSql(buf.subarray(p, nl));
      p = nl + 1;
      const line = this.sqlLine.length === 1 ? (this.sqlLine[0] as Buffer) : Buffer.concat(this.sqlLine);
      const complete = this.sqlLineLength <= MAX_SQL_LINE;
      this.sqlLine = [];
      this.sqlLineLength = 0;
      if (complete) this.onSqlLine(line);
      else this.afterDataComment = false;
    }
  }

  private keepSql(part: Buffer): void {
    this.sqlLineLength += part.length;
    // Copies: the chunk's memory is handed on downstream.
    if (this.sqlLineLength <= MAX_SQL_LINE && part.length) this.sqlLine.push(Buffer.from(part));
  }

  private onSqlLine(line: Buffer): void {
    if (line.length === 0 || (line.length === 2 && line[0] === 45 && line[1] === 45)) return; // '' or '--'
    if (line.subarray(0, DATA_COMMENT.length).equals(DATA_COMMENT)) {
      this.afterDataComment = line.includes(TABLE_DATA);
      return;
    }
    const wasAfterDataComment = this.afterDataComment;
    this.afterDataComment = false;
    if (wasAfterDataComment && line.subarray(0, COPY.length).equals(COPY)) {
      const text = decoderFor(this.encoding).decode(line);
      const header = parseCopyHeader(text);
      if (!header) throw new Error(`unexpected table-data line in the dump: ${text.slice(0, 200)}`);
      this.current = { header, digest: new RowDigest(this.xx) };
      this.mode = 'data';
      this.atLineStart = true;
      return;
    }
    if (this.encoding === null && line.subarray(0, ENCODING_PREFIX.length).toString('latin1') === ENCODING_PREFIX) {
      const m = /^SET client_encoding = '([^']+)';$/.exec(line.toString('latin1'));
      if (m) this.encoding = (m[1] as string).toUpperCase();
    }
  }

  /** Scans data from `start`; returns where scanning goes on (the end of `buf`, or just past the terminator). */
  private scanData(buf: Buffer, start: number): number {
    const cur = this.current as NonNullable<typeof this.current>;
    let p = start;
    let atLineStart = this.atLineStart;
    for (;;) {
      if (atLineStart) {
        if (buf.length - p < 3) {
          // Too short to tell a row from the terminator: looked at again with the next chunk.
          if (p < buf.length) this.pending = Buffer.from(buf.subarray(p));
          this.atLineStart = true;
          return buf.length;
        }
        if (buf[p] === 92 && buf[p + 1] === 46 && buf[p + 2] === NL) {
          // "\." ends the section (a row's own backslash is always escaped as "\\").
          const { header, digest } = cur;
          this.sections.push({ ...header, rows: digest.rows, checksum: digest.digest() });
          this.current = null;
          this.mode = 'sql';
          return p + 3;
        }
      }
      const nl = buf.indexOf(NL, p);
      if (nl === -1) {
        cur.digest.rowPart(buf, p, buf.length);
        this.atLineStart = false;
        return buf.length;
      }
      cur.digest.endRow(buf, p, nl);
      p = nl + 1;
      atLineStart = true;
    }
  }
}
