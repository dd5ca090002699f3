/**
 * The plain-dump scanner behind pgdr-copy-xxh64-sum-v1: sections, row counts and sums must not depend on
 * how the stream is cut into chunks, and only pg_dump's own table-data sections count.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { tablesOfDump } from '../../src/core/backups/dump.js';
import {
  CopyScanner,
  type CopySection,
  parseCopyHeader,
  RowDigest,
  rowHasher,
} from '../../src/core/pipeline/copy-scan.js';

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

/** A dump with the traps a scanner must step over. */
const DUMP = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  "SET client_encoding = 'UTF8';",
  "SET standard_conforming_strings = 'on';",
  '',
  'CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $$',
  "SELECT 'COPY public.fake (a) FROM stdin;",
  '\\.',
  "'::text $$;",
  '',
  '--',
  '-- Name: t; Type: TABLE; Schema: public; Owner: app',
  '--',
  '',
  'COPY public.not_data (a) FROM stdin;',
  '',
  dataBlock('t', 'COPY public.t (id, "Näme ""q""") FROM stdin;', ROWS_A),
  dataBlock('nocols', 'COPY public.nocols  FROM stdin;', ROWS_B),
  dataBlock('empty', 'COPY "Sch ema"."em.pty" (x) FROM stdin;', []),
  dataBlock('big', 'COPY public.big (id, v) FROM stdin;', [BIG_ROW, BIG_ROW]),
  '--',
  '-- PostgreSQL database dump complete',
  '--',
  '',
].join('\n');

function expectedSections(): CopySection[] {
  return [
    { schema: 'public', name: 't', columns: 'id, "Näme ""q"""', rows: 5, checksum: sumOf(ROWS_A) },
    { schema: 'public', name: 'nocols', columns: '', rows: 3, checksum: sumOf(ROWS_B) },
    { schema: 'Sch ema', name: 'em.pty', columns: 'x', rows: 0, checksum: '0000000000000000' },
    { schema: 'public', name: 'big', columns: 'id, v', rows: 2, checksum: sumOf([BIG_ROW, BIG_ROW]) },
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
    ]);
  });

  it('fails a dump that ends inside a table-data section', async () => {
    const cutShort = dump.subarray(0, DUMP.indexOf('3\t\\\\.'));
    await expect(scan([cutShort])).rejects.toThrow(/data of table public\.t is not terminated/);
  });

  it('fails on a table-data line it cannot read rather than guessing', async () => {
    const bad = Buffer.from(dataBlock('t', 'COPY public.t (a) FROM somewhere;x FROM stdin;', ['1']));
    await expect(scan([bad])).rejects.toThrow(/unexpected table-data line/);
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

describe('parseCopyHeader', () => {
  it.each([
    ['COPY public.t (a, b) FROM stdin;', { schema: 'public', name: 't', columns: 'a, b' }],
    ['COPY "a.b"."c ""d""" ("x y") FROM stdin;', { schema: 'a.b', name: 'c "d"', columns: '"x y"' }],
    ['COPY s.t  FROM stdin;', { schema: 's', name: 't', columns: '' }],
  ])('%s', (line, expected) => {
    expect(parseCopyHeader(line)).toEqual(expected);
  });

  it.each(['COPY t (a) FROM stdin;', 'COPY public.t (a) TO stdout;', 'COPY "unterminated.t (a) FROM stdin;'])(
    'rejects %s',
    (line) => {
      expect(parseCopyHeader(line)).toBeNull();
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
