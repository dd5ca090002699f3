/**
 * A plain dump is SQL run by psql, and psql also runs its own meta-commands (`\! cmd`, `\o |cmd`,
 * `\copy … program`, `\set`, `\i`): a dump from hostile storage must not reach them. Two layers:
 *
 * - psql's own `\restrict <key>` (psql 13.22+, 14.19+, 15.14+, 16.10+, 17.6+, 18+) is sent first with a
 *   random key: psql then refuses every backslash command. pg_dump of those versions writes its own
 *   `\restrict X` … `\unrestrict X` pair, which an outer `\restrict` refuses, so those lines are dropped.
 * - A filter that follows psql's lexing (quotes, dollar quotes, comments, `COPY … FROM stdin` data up to
 *   `\.`) and refuses any other backslash outside string literals and COPY data, with the line number.
 *   With an older psql it is the only layer, so there it also refuses what it cannot be sure about.
 */
import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from '../../util/errors.js';

/** The first minor of each major whose psql has `\restrict` (the August 2025 releases); 18+ all do. */
const RESTRICT_SINCE: Record<number, number> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };

/** Whether psql of `version` ("15.18", "17", "18beta1") knows `\restrict`. */
export function psqlHasRestrict(version: string): boolean {
  const m = /^(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) return false;
  const major = Number(m[1]);
  if (major >= 18) return true;
  const since = RESTRICT_SINCE[major];
  return since !== undefined && m[2] !== undefined && Number(m[2]) >= since;
}

export function restrictKey(): string {
  return randomBytes(24).toString('hex');
}

type Inner =
  | { kind: 'squote'; escapes: boolean }
  | { kind: 'dquote' }
  | { kind: 'dollar'; tag: string }
  | { kind: 'block'; depth: number };

const IDENT_START = /[A-Za-z_\x80-\xff]/;
const DIGIT = /[0-9]/;
const DOLLAR_QUOTE = /^\$(?:[A-Za-z_\x80-\xff][A-Za-z_0-9\x80-\xff]*)?\$/;
/** COPY <table> [(<columns>)] FROM STDIN …: what makes psql read data lines (quoted text already blanked). */
const COPY_FROM_STDIN = /^\s*COPY\s+[A-Za-z0-9_."$\x80-\xff]+\s*(?:\([^()]*\)\s*)?FROM\s+STDIN\b/i;
/** The lines pg_dump writes around a plain dump: `\restrict <key>` and `\unrestrict <key>`. */
const DUMP_RESTRICT = /^\\(?:un)?restrict [A-Za-z0-9]+\r?$/;

export class PsqlScriptGuard extends Transform {
  private lineNo = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private copy = false;
  /** The first bytes and the length of the current COPY data line (to spot its `\.`). */
  private readonly copyHead = new Uint8Array(4);
  private copyLen = 0;
  private inner: Inner | null = null;
  private token: 'none' | 'ident' | 'num' = 'none';
  /** The current statement's top-level text, kept only while it may be a COPY. */
  private stmt = '';

  /** `key`: the `\restrict` key sent first (psql has `\restrict`); undefined: the filter alone. */
  constructor(private readonly key?: string) {
    super();
    if (key) this.push(`\\restrict ${key}\n`);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      let pos = 0;
      while (pos < chunk.length) {
        if (this.copy) {
          pos = this.copySpan(chunk, pos);
          continue;
        }
        const nl = chunk.indexOf(10, pos);
        const end = nl === -1 ? chunk.length : nl + 1;
        const piece = chunk.subarray(pos, end);
        pos = end;
        this.partial.push(piece);
        this.partialBytes += piece.length;
        if (nl !== -1) this.sqlLine();
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (!this.copy && this.partialBytes) this.sqlLine();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  /**
   * COPY data passes through untouched, as one piece per chunk (a push per row cost a write to psql per
   * row: ~2 s of a 1 GB restore); a line `\.` (psql's end of data) returns to SQL. Returns where the
   * data ended in `chunk` (its length when it goes on).
   */
  private copySpan(chunk: Buffer, start: number): number {
    let p = start;
    while (p < chunk.length) {
      const nl = chunk.indexOf(10, p);
      const end = nl === -1 ? chunk.length : nl + 1;
      // Only a line of at most 4 bytes can be `\.` + `\n` or `\r\n`: keep the first bytes of short lines.
      for (let i = p; i < end && this.copyLen + (i - p) < 4; i++)
        this.copyHead[this.copyLen + (i - p)] = chunk[i] as number;
      this.copyLen += end - p;
      p = end;
      if (nl === -1) break;
      this.lineNo++;
      const h = this.copyHead;
      const ended =
        h[0] === 0x5c &&
        h[1] === 0x2e &&
        ((this.copyLen === 3 && h[2] === 0x0a) || (this.copyLen === 4 && h[2] === 0x0d && h[3] === 0x0a));
      this.copyLen = 0;
      if (ended) {
        this.copy = false;
        break;
      }
    }
    this.push(chunk.subarray(start, p));
    return p;
  }

  private refuse(what: string): never {
    throw new IntegrityError(
      `the dump holds ${what} at line ${this.lineNo}: refused (a restore never runs psql meta-commands from a backup)`,
      'restore',
    );
  }

  private sqlLine(): void {
    const bytes = this.partial.length === 1 ? (this.partial[0] as Buffer) : Buffer.concat(this.partial);
    this.partial = [];
    this.partialBytes = 0;
    this.lineNo++;
    const line = bytes.toString('latin1');
    if (this.inner === null && DUMP_RESTRICT.test(line.replace(/\n$/, ''))) return; // pg_dump's own pair
    const copyNext = this.lex(line);
    this.push(bytes);
    if (copyNext) this.copy = true;
  }

  /** Lexes one line as psql would; returns true when COPY data follows it. */
  private lex(line: string): boolean {
    let copyNext = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i] as string;
      const next = line[i + 1];
      const inner = this.inner;
      if (inner?.kind === 'squote') {
        if (c === "'") {
          if (next === "'") i++;
          else this.inner = null;
        } else if (c === '\\' && inner.escapes) i++;
        else if (c === '\\' && next === "'" && !this.key) {
          // With standard_conforming_strings off psql reads \' as an escaped quote: ambiguous without \restrict.
          this.refuse(`a backslash before a quote in a string literal (ambiguous to psql)`);
        }
        continue;
      }
      if (inner?.kind === 'dquote') {
        if (c === '"') {
          if (next === '"') i++;
          else this.inner = null;
        }
        continue;
      }
      if (inner?.kind === 'dollar') {
        if (line.startsWith(inner.tag, i)) {
          this.inner = null;
          i += inner.tag.length - 1;
        }
        continue;
      }
      if (inner?.kind === 'block') {
        if (c === '/' && next === '*') {
          inner.depth++;
          i++;
        } else if (c === '*' && next === '/') {
          i++;
          if (--inner.depth === 0) this.inner = null;
        }
        continue;
      }
      // Top level.
      if (copyNext && !/\s/.test(c)) this.refuse('text after COPY … FROM stdin; on the same line');
      if (c === '-' && next === '-') break; // a comment to the end of the line
      if (c === '/' && next === '*') {
        this.inner = { kind: 'block', depth: 1 };
        this.token = 'none';
        i++;
        continue;
      }
      if (c === '\\') {
        const cmd = /^\\([A-Za-z]+|[^A-Za-z\s]?)/.exec(line.slice(i))?.[0] ?? '\\';
        this.refuse(`the psql meta-command ${cmd}`);
      }
      if (c === "'") {
        // E'…' (a lone E/e starting the token) takes backslash escapes; everything else doubles quotes.
        const escapes = this.token === 'ident' && /[Ee]/.test(line[i - 1] ?? '') && !isWordChar(line[i - 2]);
        this.inner = { kind: 'squote', escapes };
        this.token = 'none';
        this.keep("''");
        continue;
      }
      if (c === '"') {
        this.inner = { kind: 'dquote' };
        this.token = 'none';
        this.keep('""');
        continue;
      }
      if (c === '$' && this.token !== 'ident') {
        const tag = DOLLAR_QUOTE.exec(line.slice(i, i + 200))?.[0];
        if (tag) {
          this.inner = { kind: 'dollar', tag };
          this.token = 'none';
          this.keep("''");
          i += tag.length - 1;
          continue;
        }
      }
      if (c === ';') {
        if (COPY_FROM_STDIN.test(this.stmt)) copyNext = true;
        this.stmt = '';
        this.token = 'none';
        continue;
      }
      this.keep(c);
      if (this.token === 'ident' && (IDENT_START.test(c) || DIGIT.test(c) || c === '$')) continue;
      if (this.token === 'num' && (DIGIT.test(c) || c === '.')) continue;
      if (this.token === 'num' && (c === 'e' || c === 'E') && /^[+-]?[0-9]/.test(line.slice(i + 1, i + 3))) {
        if (next === '+' || next === '-') i++;
        continue;
      }
      this.token = IDENT_START.test(c) ? 'ident' : DIGIT.test(c) ? 'num' : 'none';
    }
    if (this.inner === null) {
      this.token = 'none';
      this.keep('\n');
    }
    return copyNext;
  }

  /** Keeps top-level text while the statement may still be a COPY (all COPY_FROM_STDIN needs). */
  private keep(text: string): void {
    const head = this.stmt.trimStart();
    if (head.length <= 4 ? 'COPY'.startsWith(head.toUpperCase()) : /^COPY\s/i.test(head)) {
      if (this.stmt.length < 1_000_000) this.stmt += text;
    }
  }
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && (IDENT_START.test(c) || DIGIT.test(c) || c === '$');
}
