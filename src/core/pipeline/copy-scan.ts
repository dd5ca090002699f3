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
import { type CopyStatement, parseCopyStatement } from './copy-statement.js';

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
const EMPTY = Buffer.alloc(0);
/** Longest statement kept to be read (a COPY statement with 1600 long quoted column names is far shorter). */
const MAX_STATEMENT = 4 * 1024 * 1024;
/**
 * Client-only encodings whose multibyte characters can hold the byte 0x5C: psql reads those characters
 * whole, so inside an E'' string the byte is no escape; a byte-wise reader would be misled.
 */
const BACKSLASH_TRAIL_ENCODINGS = new Set(['SJIS', 'SHIFT_JIS_2004', 'BIG5', 'GBK', 'UHC', 'GB18030', 'JOHAB']);

// Where the SQL reader is (the states of PostgreSQL's own lexer that decide where a statement ends).
const NORMAL = 0;
const QUOTED = 1; // '…' with standard_conforming_strings on ('' for ')
const ESCAPED = 2; // E'…' (or '…' with standard_conforming_strings off): \x escapes too
const IDENT = 3; // "…"
const DOLLAR = 4; // $tag$…$tag$
const LINE = 5; // -- comment, or a psql meta-command (\connect, \restrict …): up to the newline
const BLOCK = 6; // /* … */, nested

/** [A-Za-z_] or a byte of a multibyte character: may start an identifier or a dollar-quote tag. */
function identStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}

function tagChar(c: number): boolean {
  return identStart(c) || (c >= 48 && c <= 57);
}

function identChar(c: number): boolean {
  return tagChar(c) || c === 36;
}

/** buf[start, end) is `word` (upper-case ASCII) in any case. */
function isWord(buf: Buffer, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (((buf[start + i] as number) & 0xdf) !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * A pass-through stage over a plain dump that records every table-data section. It reads the dump as
 * psql will: SQL statements are lexed far enough to know where each ends (quoted strings, E'' strings,
 * dollar-quoted bodies, quoted identifiers, nested comments, psql meta-command lines), and a section is
 * a `COPY <schema>.<table> (<columns>) FROM stdin;` that is a statement of its own, followed by rows up
 * to a line that is exactly `\.` (COPY's text format escapes every backslash in a row, so no row is
 * that line). Text that only looks like a dump (a COMMENT, a function body, a string, a column default,
 * a row) stays inside its string, comment or section, whatever it contains.
 */
export class CopyScanner extends Transform {
  readonly sections: CopySection[] = [];
  /** The dump's client_encoding (from its `SET client_encoding = '…';` statement). */
  encoding: string | null = null;

  /** The table whose rows are streaming past now (`schema.name`), or the last one finished; for progress lines. */
  get currentTable(): string | undefined {
    const t = this.current?.table ?? this.sections.at(-1);
    return t ? `${t.schema}.${t.name}` : undefined;
  }

  private mode: 'sql' | 'data' = 'sql';
  private lex = NORMAL;
  private depth = 0;
  /** The open dollar quote's delimiter, `$tag$`. */
  private tag: Buffer = EMPTY;
  /** No token of the current statement has been read yet. */
  private stmtStart = true;
  private stdStrings = true;
  /** The text of the current statement so far, kept when it starts with COPY or SET. */
  private capture: Buffer[] | null = null;
  private captureKind: 'COPY' | 'SET' = 'SET';
  private captureLength = 0;
  private captureFrom = 0;
  private current: { table: CopyStatement; digest: RowDigest } | null = null;
  private atLineStart = true;
  /** Bytes at a chunk's end that cannot be read before the next chunk (a token's first bytes, a row's start). */
  private carry: Buffer | null = null;
  private stalled = false;

  private readonly xx: XXHash | null;

  /** `xx`: from rowHasher(); null counts rows without hashing them. */
  constructor(xx: XXHash | null) {
    super();
    this.xx = xx;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.scan(this.carry ? Buffer.concat([this.carry, chunk]) : chunk, false);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (this.carry) this.scan(this.carry, true);
    } catch (err) {
      cb(err as Error);
      return;
    }
    if (this.mode === 'data') {
      const t = this.current?.table;
      cb(new Error(`the dump is incomplete: the data of table ${t?.schema}.${t?.name} is not terminated`));
    } else cb();
  }

  /** Reads `buf`; with `final`, nothing follows it. */
  private scan(buf: Buffer, final: boolean): void {
    this.carry = null;
    this.captureFrom = 0;
    let p = 0;
    while (p < buf.length && !this.stalled) {
      p = this.mode === 'data' ? this.scanData(buf, p, final) : this.scanSql(buf, p, final);
    }
    if (this.capture) this.keep(buf.subarray(this.captureFrom, p));
    if (this.stalled) {
      this.stalled = false;
      // Copied: the chunk's memory is handed on downstream.
      this.carry = Buffer.from(buf.subarray(p));
    }
  }

  /** Stops reading at `p` until more bytes arrive. */
  private stall(p: number): number {
    this.stalled = true;
    return p;
  }

  private keep(part: Buffer): void {
    this.captureLength += part.length;
    if (this.captureLength > MAX_STATEMENT) {
      if (this.captureKind === 'COPY') throw new Error('a COPY statement in the dump is longer than 4 MiB');
      this.capture = null;
    } else if (part.length) (this.capture as Buffer[]).push(Buffer.from(part));
  }

  /** A statement's first token starts at `p` (a word ending at `end`, or not a word when end = -1). */
  private firstToken(buf: Buffer, p: number, end: number): void {
    this.stmtStart = false;
    const kind = end === -1 ? null : isWord(buf, p, end, 'COPY') ? 'COPY' : isWord(buf, p, end, 'SET') ? 'SET' : null;
    if (!kind) return;
    this.capture = [];
    this.captureKind = kind;
    this.captureLength = 0;
    this.captureFrom = p;
  }

  private openString(): number {
    if (this.encoding !== null && BACKSLASH_TRAIL_ENCODINGS.has(this.encoding)) {
      throw new Error(
        `the dump's client_encoding ${this.encoding} cannot be read safely (a multibyte character can end in a backslash byte): dump in the server's encoding`,
      );
    }
    return ESCAPED;
  }

  /** Reads SQL from `p`; returns where reading goes on (the end of `buf`, a stall, or the first row of a COPY). */
  private scanSql(buf: Buffer, start: number, final: boolean): number {
    const len = buf.length;
    let p = start;
    while (p < len) {
      switch (this.lex) {
        case NORMAL: {
          const c = buf[p] as number;
          if (c === 32 || c === NL || c === 9 || c === 13 || c === 12) {
            p++;
          } else if (identStart(c)) {
            let e = p + 1;
            while (e < len && identChar(buf[e] as number)) e++;
            if (e === len && !final) return this.stall(p);
            if (this.stmtStart) this.firstToken(buf, p, e);
            if (buf[e] === 39) {
              // E'…' is an escape string only when the E is a word of its own.
              this.lex = (e === p + 1 && (c === 69 || c === 101)) || !this.stdStrings ? this.openString() : QUOTED;
              e++;
            }
            p = e;
          } else if (c === 59) {
            // ';' ends the statement.
            if (this.capture) {
              if (p + 1 === len && !final) return this.stall(p);
              const text = Buffer.concat([...this.capture, buf.subarray(this.captureFrom, p + 1)]);
              this.capture = null;
              this.stmtStart = true;
              if (this.statement(text)) {
                // psql reads the rows from the next line; pg_dump ends the statement's line right there.
                if (buf[p + 1] !== NL) throw new Error('unexpected text after a COPY statement in the dump');
                this.mode = 'data';
                this.atLineStart = true;
                return p + 2;
              }
            }
            this.stmtStart = true;
            p++;
          } else if (c === 92) {
            // A psql meta-command (\connect, \restrict, …) runs to the end of its line.
            this.lex = LINE;
            p++;
          } else {
            if (c === 45 || c === 47 || c === 36) {
              if (p + 1 === len && !final) return this.stall(p);
              const d = buf[p + 1];
              if (c === 45 && d === 45) {
                this.lex = LINE;
                p += 2;
                continue;
              }
              if (c === 47 && d === 42) {
                this.lex = BLOCK;
                this.depth = 1;
                p += 2;
                continue;
              }
              if (c === 36 && d !== undefined && (d === 36 || identStart(d))) {
                let e = p + 1;
                while (e < len && tagChar(buf[e] as number)) e++;
                if (e === len && !final) return this.stall(p);
                if (buf[e] === 36) {
                  if (this.stmtStart) this.firstToken(buf, p, -1);
                  this.tag = Buffer.from(buf.subarray(p, e + 1));
                  this.lex = DOLLAR;
                  p = e + 1;
                  continue;
                }
                // `$name` without a closing `$` is no quote: `$`, then an identifier.
              }
            } else if (c === 39) this.lex = this.stdStrings ? QUOTED : this.openString();
            else if (c === 34) this.lex = IDENT;
            if (this.stmtStart) this.firstToken(buf, p, -1);
            p++;
          }
          break;
        }
        case QUOTED:
        case IDENT: {
          const quote = this.lex === QUOTED ? 39 : 34;
          const q = buf.indexOf(quote, p);
          if (q === -1) return len;
          if (q + 1 === len && !final) return this.stall(q);
          // A doubled quote stands for one and the string goes on.
          if (buf[q + 1] === quote) p = q + 2;
          else {
            this.lex = NORMAL;
            p = q + 1;
          }
          break;
        }
        case ESCAPED: {
          for (;;) {
            if (p === len) return len;
            const c = buf[p] as number;
            if (c === 92 || c === 39) {
              if (p + 1 === len && !final) return this.stall(p);
              if (c === 92 || buf[p + 1] === 39) p += 2;
              else {
                this.lex = NORMAL;
                p++;
                break;
              }
            } else p++;
          }
          break;
        }
        case DOLLAR: {
          const tag = this.tag;
          for (;;) {
            const q = buf.indexOf(36, p);
            if (q === -1) return len;
            if (q + tag.length > len) {
              if (!final && buf.compare(tag, 0, len - q, q, len) === 0) return this.stall(q);
            } else if (buf.compare(tag, 0, tag.length, q, q + tag.length) === 0) {
              this.lex = NORMAL;
              p = q + tag.length;
              break;
            }
            p = q + 1;
          }
          break;
        }
        case LINE: {
          const nl = buf.indexOf(NL, p);
          if (nl === -1) return len;
          this.lex = NORMAL;
          p = nl + 1;
          break;
        }
        case BLOCK: {
          const c = buf[p] as number;
          if (c === 42 || c === 47) {
            if (p + 1 === len && !final) return this.stall(p);
            const d = buf[p + 1];
            if (c === 42 && d === 47) {
              this.depth--;
              if (this.depth === 0) this.lex = NORMAL;
              p += 2;
              break;
            }
            if (c === 47 && d === 42) {
              this.depth++;
              p += 2;
              break;
            }
          }
          p++;
          break;
        }
      }
    }
    return p;
  }

  /** A whole COPY or SET statement (with its ';'); true when it starts a table-data section. */
  private statement(text: Buffer): boolean {
    if (this.captureKind === 'SET') {
      const s = text.toString('latin1');
      const enc = /^SET\s+client_encoding\s*(?:=|TO)\s*'([^']+)'\s*;$/i.exec(s);
      if (enc) this.encoding = (enc[1] as string).toUpperCase();
      const std = /^SET\s+standard_conforming_strings\s*(?:=|TO)\s*'?(on|off)'?\s*;$/i.exec(s);
      if (std) this.stdStrings = (std[1] as string).toLowerCase() === 'on';
      return false;
    }
    const sql = decoderFor(this.encoding).decode(text);
    const table = parseCopyStatement(sql);
    if (!table) throw new Error(`unexpected COPY statement in the dump: ${sql.slice(0, 200)}`);
    this.current = { table, digest: new RowDigest(this.xx) };
    return true;
  }

  /** Reads rows from `start`; returns where reading goes on (the end of `buf`, a stall, or just past `\.`). */
  private scanData(buf: Buffer, start: number, final: boolean): number {
    const cur = this.current as NonNullable<typeof this.current>;
    let p = start;
    for (;;) {
      if (this.atLineStart) {
        if (buf.length - p < 3 && !final) {
          // Too short to tell a row from the terminator: looked at again with the next chunk.
          return this.stall(p);
        }
        if (buf[p] === 92 && buf[p + 1] === 46 && buf[p + 2] === NL) {
          const { table, digest } = cur;
          this.sections.push({
            schema: table.schema,
            name: table.name,
            columns: table.columns,
            rows: digest.rows,
            checksum: digest.digest(),
          });
          this.current = null;
          this.mode = 'sql';
          return p + 3;
        }
      }
      const nl = buf.indexOf(NL, p);
      if (nl === -1) {
        cur.digest.rowPart(buf, p, buf.length);
        this.atLineStart = p === buf.length;
        return buf.length;
      }
      cur.digest.endRow(buf, p, nl);
      p = nl + 1;
      this.atLineStart = true;
    }
  }
}
