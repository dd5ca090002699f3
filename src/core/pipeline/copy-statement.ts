/**
 * pg_dump's `COPY <schema>.<table> (<columns>) FROM stdin;` statement and column lists, read as SQL
 * (identifiers bare or "quoted", whitespace and newlines anywhere between tokens), never by pattern.
 * The column list is also what a manifest carries to verify, which reads it back with parseColumnList:
 * a manifest comes from the bucket, so nothing in it reaches SQL except as a parsed, re-quoted name.
 */

export interface CopyStatement {
  schema: string;
  name: string;
  /** The column list exactly as pg_dump wrote it between the parentheses ('' for a table without columns). */
  columns: string;
  columnNames: string[];
}

/** What pg_dump's fmtId leaves bare (anything else it quotes). */
const BARE = /[a-z_][a-z0-9_]*/y;
const SPACE = /[ \t\r\n\f]*/y;

class Reader {
  i = 0;
  constructor(readonly s: string) {}

  space(): void {
    SPACE.lastIndex = this.i;
    SPACE.exec(this.s);
    this.i = SPACE.lastIndex;
  }

  /** Consumes `word` (ASCII, any case) if it is next and not followed by an identifier character. */
  keyword(word: string): boolean {
    const end = this.i + word.length;
    if (this.s.slice(this.i, end).toUpperCase() !== word || /[A-Za-z0-9_$\x80-\uffff]/.test(this.s[end] ?? '')) {
      return false;
    }
    this.i = end;
    return true;
  }

  char(c: string): boolean {
    if (this.s[this.i] !== c) return false;
    this.i++;
    return true;
  }

  /** An identifier as fmtId writes it: "quoted" (`""` for `"`, not empty, no NUL) or bare lower case. */
  ident(): string | null {
    const s = this.s;
    if (s[this.i] === '"') {
      let value = '';
      let j = this.i + 1;
      for (;;) {
        const q = s.indexOf('"', j);
        if (q === -1) return null;
        value += s.slice(j, q);
        if (s[q + 1] !== '"') {
          this.i = q + 1;
          return value === '' || value.includes('\0') ? null : value;
        }
        value += '"';
        j = q + 2;
      }
    }
    BARE.lastIndex = this.i;
    const m = BARE.exec(s);
    if (!m || /[A-Za-z0-9_$\x80-\uffff]/.test(s[BARE.lastIndex] ?? '')) return null;
    this.i = BARE.lastIndex;
    return m[0];
  }

  /** `ident [, ident]*` up to (not including) `)` or the end; null if anything else is there. */
  identList(): string[] | null {
    const names: string[] = [];
    this.space();
    if (this.i === this.s.length || this.s[this.i] === ')') return names;
    for (;;) {
      const name = this.ident();
      if (name === null) return null;
      names.push(name);
      this.space();
      if (!this.char(',')) return names;
      this.space();
    }
  }
}

/** Reads a whole `COPY … FROM stdin;` statement as pg_dump writes it (schema-qualified); null for anything else. */
export function parseCopyStatement(text: string): CopyStatement | null {
  const r = new Reader(text);
  r.space();
  if (!r.keyword('COPY')) return null;
  r.space();
  const schema = r.ident();
  if (schema === null || !r.char('.')) return null;
  const name = r.ident();
  if (name === null) return null;
  r.space();
  let columns = '';
  let columnNames: string[] = [];
  if (r.char('(')) {
    const start = r.i;
    const names = r.identList();
    if (names === null || !r.char(')')) return null;
    columns = text.slice(start, r.i - 1).trim();
    columnNames = names;
    r.space();
  }
  if (!r.keyword('FROM')) return null;
  r.space();
  if (!r.keyword('STDIN')) return null;
  r.space();
  if (!r.char(';')) return null;
  r.space();
  return r.i === text.length ? { schema, name, columns, columnNames } : null;
}

/** A column list as in a COPY statement (`a, "B c"`; '' for none) as names; null if it is anything else. */
export function parseColumnList(text: string): string[] | null {
  const r = new Reader(text);
  const names = r.identList();
  r.space();
  return names !== null && r.i === text.length ? names : null;
}
