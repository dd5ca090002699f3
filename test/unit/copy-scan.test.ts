/**
 * The plain-dump scanner behind pgdr-copy-xxh64-sum-v1: sections, row counts and sums must not depend on
 * how the stream is cut into chunks, and only COPY statements of pg_dump's own count: never text inside
 * a string, a dollar-quoted body, a quoted identifier, a comment or a table's rows.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { tablesOfDump } from '../../src/core/backups/dump.js';
import { CopyScanner, type CopySection, RowDigest, rowHasher } from '../../src/core/pipeline/copy-scan.js';
import { parseColumnList, parseCopyStatement } from '../../src/core/pipeline/copy-statement.js';

type XX = Awaited<ReturnType<typeof rowHasher>>;
let xx: XX;
beforeAll(async () => {
  xx = await rowHasher();
});

/** The algorithm written out: the sum mod 2^64 of each row's XXH64, as 16 hex digits. */
function sumOf(rows: Array<string | Buffer>): string {
  let sum = 0n;
  for (const r of rows) sum = (sum + xx.h64Raw(typeof r === 'string' ? Buffer.from(r) : r)) & ((1n << 64n) - 1n);
  return sum.toString(16).padStart(16, '0');
}

function dataBlock(table: string, header: string, rows: string[]): string {
  return [
    '--',
    `-- Data for Name: ${table}; Type: TABLE DATA; Schema: public; Owner: app`,
    '--',
    '',
    header,
    ...rows,
    '\\.',
    '',
    '',
  ].join('\n');
}

const ROWS_A = ['1\tplain', '2\twith \\\\. inside', '3\t\\\\.', '4\t\\N', `5\t${'x'.repeat(5000)}`];
const ROWS_B = ['', '', ''];
const BIG_ROW = `9\t${'é'.repeat(40_000)}`;
const ROWS_NL = ['COPY public.x FROM stdin;', '\\\\.', '-- Data for Name: x; Type: TABLE DATA;'];

/** Text that looks like a table-data section, for the traps below. */
const FAKE = [
  '',
  '--',
  '-- Data for Name: pg_publication; Type: TABLE DATA; Schema: pg_catalog; Owner: postgres',
  '--',
  '',
  'COPY pg_catalog.pg_publication (oid, "x\\") FROM stdin;',
  '1',
  '\\.',
  '',
  '',
].join('\n');
const sq = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const dq = (s: string): string => `"${s.replaceAll('"', '""')}"`;

/** A dump with the traps a scanner must step over (each as pg_dump or psql would read it). */
const DUMP = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  '\\restrict abc COPY public.meta (a) FROM stdin;',
  '',
  "SET client_encoding = 'UTF8';",
  'SET standard_conforming_strings = on;',
  '',
  'CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $_$',
  "SELECT 'COPY public.fake (a) FROM stdin;",
  '\\.',
  `'::text || $$${FAKE}$$ || $__$ $a$ $__$ $_$;`,
  '',
  '--',
  '-- Name: t; Type: TABLE; Schema: public; Owner: app',
  '--',
  '',
  `CREATE TABLE public.t (id integer, "Näme ""q""" text DEFAULT ${sq(FAKE)}::text);`,
  '',
  `COMMENT ON TABLE public.t IS ${sq(`${FAKE} it's`)};`,
  `COMMENT ON COLUMN public.t.id IS E'\\';${FAKE}\\\\';`,
  `CREATE VIEW public.${dq(`v${FAKE}`)} AS SELECT 1 AS a; -- ${FAKE.replaceAll('\n', ' ')}`,
  `/* nested /* ${FAKE} */ still a comment;${FAKE} */`,
  `SELECT $1, a$b$ ${sq(FAKE)}, $tag$${FAKE}$tag$ ;`,
  '',
  dataBlock('t', 'COPY public.t (id, "Näme ""q""") FROM stdin;', ROWS_A),
  dataBlock('nocols', 'COPY public.nocols  FROM stdin;', ROWS_B),
  dataBlock('empty', 'COPY "Sch ema"."em.pty" (x) FROM stdin;', []),
  dataBlock('big', 'COPY public.big (id, v) FROM stdin;', [BIG_ROW, BIG_ROW]),
  dataBlock('nl', `COPY ${dq('new\nline')}.${dq('t\nCOPY x FROM stdin;')} (${dq('a\n\\.\n')}, b) FROM stdin;`, ROWS_NL),
  '--',
  '-- PostgreSQL database dump complete',
  '--',
  '',
  '\\unrestrict abc',
  '',
].join('\n');

function expectedSections(): CopySection[] {
  return [
    { schema: 'public', name: 't', columns: 'id, "Näme ""q"""', rows: 5, checksum: sumOf(ROWS_A) },
    { schema: 'public', name: 'nocols', columns: '', rows: 3, checksum: sumOf(ROWS_B) },
    { schema: 'Sch ema', name: 'em.pty', columns: 'x', rows: 0, checksum: '0000000000000000' },
    { schema: 'public', name: 'big', columns: 'id, v', rows: 2, checksum: sumOf([BIG_ROW, BIG_ROW]) },
    {
      schema: 'new\nline',
      name: 't\nCOPY x FROM stdin;',
      columns: `${dq('a\n\\.\n')}, b`,
      rows: 3,
      checksum: sumOf(ROWS_NL),
    },
  ];
}
async function scan(chunks: Buffer[], hashing = true): Promise<{ scanner: CopyScanner; out: Buffer }> {
  const scanner = new CopyScanner(hashing ? xx : null);
  const parts: Buffer[] = [];
  scanner.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise<void>((resolve, reject) => {
    scanner.on('end', resolve);
    scanner.on('error', reject);
  });
  for (const c of chunks) scanner.write(c);
  scanner.end();
  await done;
  return { scanner, out: Buffer.concat(parts) };
}

function cut(buf: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  for (let i = 0; p < buf.length; i++) {
    const n = sizes[i % sizes.length] as number;
    out.push(buf.subarray(p, p + n));
    p += n;
  }
  return out;
}

describe('CopyScanner', () => {
  const dump = Buffer.from(DUMP);

  it('finds each table-data section with its rows and hash, passes every byte through unchanged', async () => {
    const { scanner, out } = await scan([dump]);
    expect(scanner.sections).toEqual(expectedSections());
    expect(scanner.encoding).toBe('UTF8');
    expect(out.equals(dump)).toBe(true);
  });

  it.each([1, 2, 3, 5, 64, 4096])('gives the same answer when the dump arrives in %i-byte chunks', async (n) => {
    const { scanner, out } = await scan(cut(dump, [n]));
    expect(scanner.sections).toEqual(expectedSections());
    expect(out.equals(dump)).toBe(true);
  });

  it('gives the same answer for any cutting of the stream (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 40 }), async (sizes) => {
        const { scanner } = await scan(cut(dump, sizes));
        expect(scanner.sections).toEqual(expectedSections());
      }),
      { numRuns: 150 },
    );
  });

  it('counts rows without hashing when hashing is off', async () => {
    const { scanner } = await scan([dump], false);
    expect(scanner.sections.map((s) => [s.name, s.rows, s.checksum])).toEqual([
      ['t', 5, ''],
      ['nocols', 3, ''],
      ['em.pty', 0, ''],
      ['big', 2, ''],
      ['t\nCOPY x FROM stdin;', 3, ''],
    ]);
  });

  it('fails a dump that ends inside a table-data section', async () => {
    const cutShort = dump.subarray(0, DUMP.indexOf('3\t\\\\.'));
    await expect(scan([cutShort])).rejects.toThrow(/data of table public\.t is not terminated/);
  });

  it.each([
    'COPY public.t (a) FROM somewhere;x FROM stdin;',
    'COPY t (a) FROM stdin;',
    'COPY public.t (a) FROM stdin; -- more',
  ])('fails on a COPY statement it cannot read rather than guessing: %s', async (header) => {
    const bad = Buffer.from(dataBlock('t', header, ['1']));
    await expect(scan([bad])).rejects.toThrow(/COPY statement/);
  });

  it('reads strings with backslash escapes while standard_conforming_strings is off', async () => {
    const text = [
      'SET standard_conforming_strings = off;',
      `COMMENT ON TABLE public.t IS 'it\\'s \\\\${FAKE}';`,
      'SET standard_conforming_strings = on;',
      "COMMENT ON TABLE public.t IS 'a\\';",
      dataBlock('t', 'COPY public.t (a) FROM stdin;', ['1']),
    ].join('\n');
    for (const n of [1, 7, text.length]) {
      const { scanner } = await scan(cut(Buffer.from(text), [n]));
      expect(scanner.sections.map((s) => s.name)).toEqual(['t']);
    }
  });

  it('reads identifiers in the dump encoding', async () => {
    const latin1 = Buffer.concat([
      Buffer.from("SET client_encoding = 'LATIN1';\n\n"),
      Buffer.from(dataBlock('caf\xe9', 'COPY public."caf\xe9" (x) FROM stdin;', ['\xe9']), 'latin1'),
    ]);
    const { scanner } = await scan([latin1]);
    expect(scanner.encoding).toBe('LATIN1');
    expect(scanner.sections[0]?.name).toBe('café');
    expect(scanner.sections[0]?.checksum).toBe(sumOf([Buffer.from([0xe9])]));
  });
});

describe('parseCopyStatement', () => {
  it.each([
    ['COPY public.t (a, b) FROM stdin;', { schema: 'public', name: 't', columns: 'a, b', columnNames: ['a', 'b'] }],
    [
      'COPY "a.b"."c ""d""" ("x y") FROM stdin;',
      { schema: 'a.b', name: 'c "d"', columns: '"x y"', columnNames: ['x y'] },
    ],
    ['COPY s.t  FROM stdin;', { schema: 's', name: 't', columns: '', columnNames: [] }],
    [
      'COPY "s\n1"."t\n" ("c\n1", "select", name) FROM stdin;',
      { schema: 's\n1', name: 't\n', columns: '"c\n1", "select", name', columnNames: ['c\n1', 'select', 'name'] },
    ],
  ])('%j', (line, expected) => {
    expect(parseCopyStatement(line)).toEqual(expected);
  });

  it.each([
    'COPY t (a) FROM stdin;',
    'COPY public.t (a) TO stdout;',
    'COPY "unterminated.t (a) FROM stdin;',
    'COPY public.T (a) FROM stdin;',
    'COPY public.t (a) FROM stdin; x',
    'COPY public."" (a) FROM stdin;',
    "COPY public.t (a) TO PROGRAM 'id'; FROM stdin;",
  ])('rejects %j', (line) => {
    expect(parseCopyStatement(line)).toBeNull();
  });
});

describe('parseColumnList', () => {
  it.each([
    ['', []],
    ['a, "B c", "x""y"', ['a', 'B c', 'x"y']],
    ['a,b', ['a', 'b']],
  ])('%j', (text, expected) => {
    expect(parseColumnList(text)).toEqual(expected);
  });

  it.each(["a) TO PROGRAM 'id' --", 'a, (select 1)', 'A', 'a b', '"a', 'a,', '""', 'a; DROP TABLE t'])(
    'rejects %j',
    (text) => {
      expect(parseColumnList(text)).toBeNull();
    },
  );
});

describe('RowDigest', () => {
  it('uses XXH64 with seed 0 (published test vectors)', () => {
    expect(xx.h64Raw(Buffer.from('')).toString(16)).toBe('ef46db3751d8e999');
    expect(xx.h64Raw(Buffer.from('abc')).toString(16)).toBe('44bc2cf5ad770999');
  });

  it('counts newline-terminated rows across chunk boundaries and sums their hashes, in any order', () => {
    const text = Buffer.from('a\tb\n\nc\nlonger row\n');
    const once = new RowDigest(xx);
    once.update(text);
    const cutUp = new RowDigest(xx);
    for (const c of cut(text, [2, 1, 3])) cutUp.update(c);
    const reordered = new RowDigest(xx);
    reordered.update(Buffer.from('longer row\nc\n\na\tb\n'));
    expect(once.rows).toBe(4);
    expect(once.digest()).toBe(sumOf(['a\tb', '', 'c', 'longer row']));
    expect(cutUp.digest()).toBe(once.digest());
    expect(reordered.digest()).toBe(once.digest());
    const changed = new RowDigest(xx);
    changed.update(Buffer.from('a\tb\n\nd\nlonger row\n'));
    expect(changed.digest()).not.toBe(once.digest());
  });
});

describe('tablesOfDump', () => {
  it('refuses a dump that lacks a table the database has, naming it', () => {
    const scanner = new CopyScanner(xx);
    scanner.sections.push({ schema: 'public', name: 'a', columns: 'x', rows: 1, checksum: sumOf(['1']) });
    expect(() =>
      tablesOfDump(scanner, [
        { schema: 'public', name: 'a' },
        { schema: 'ext', name: 'b' },
      ]),
    ).toThrow(/no data for 1 table\(s\) the database has: ext\.b/);
    expect(tablesOfDump(scanner, [{ schema: 'public', name: 'a' }])).toEqual([
      { schema: 'public', name: 'a', rows: 1, checksum: sumOf(['1']), columns: 'x' },
    ]);
  });
});
