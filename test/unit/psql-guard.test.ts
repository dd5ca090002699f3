/**
 * PsqlScriptGuard: what reaches psql from a plain dump. COPY data (including lines that start with a
 * backslash, like \N) and backslashes inside literals pass; pg_dump's own \restrict pair is dropped; every
 * psql meta-command outside them is refused with its line number; `\restrict <key>` goes first when psql has it.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PsqlScriptGuard, psqlHasRestrict } from '../../src/core/postgres/psql-guard.js';

async function guard(sql: string, key?: string, chunkSize = 7): Promise<string> {
  const chunks: Buffer[] = [];
  const b = Buffer.from(sql);
  for (let i = 0; i < b.length; i += chunkSize) chunks.push(b.subarray(i, i + chunkSize));
  const out: Buffer[] = [];
  for await (const c of Readable.from(chunks).pipe(new PsqlScriptGuard(key))) out.push(c as Buffer);
  return Buffer.concat(out).toString();
}

const DUMP = `--
-- PostgreSQL database dump
--

\\restrict abcDEF123

SET standard_conforming_strings = on;
CREATE TABLE public.t (a text, b int);
CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $_$SELECT '\\! not a command'$_$;
COMMENT ON TABLE public.t IS 'a \\o |backslash in a literal';
COPY public.t (a, b) FROM stdin;
\\N\t1
\\restrict looks like a command but is data\t2
\\! also data\t3
\\.
SELECT E'it\\'s \\\\';
/* a block \\! comment /* nested */ still comment */
-- a line comment \\! here

\\unrestrict abcDEF123
`;

describe('PsqlScriptGuard', () => {
  it.each([
    ['15.18', true],
    ['15.13', false],
    ['15.14', true],
    ['16.9', false],
    ['16.10', true],
    ['17.6', true],
    ['17.5', false],
    ['14.19', true],
    ['13.21', false],
    ['12.22', false],
    ['18', true],
    ['18beta1', true],
    ['19.0', true],
    ['junk', false],
  ])('psql %s has \\restrict: %s', (version, has) => {
    expect(psqlHasRestrict(version)).toBe(has);
  });

  it.each([1, 7, 4096])(
    'passes a dump (chunks of %i bytes): COPY data untouched, its own \\restrict pair dropped',
    async (size) => {
      const out = await guard(DUMP, undefined, size);
      expect(out).not.toMatch(/^\\restrict abcDEF123$/m);
      expect(out).not.toMatch(/^\\unrestrict/m);
      expect(out).toContain('\\N\t1\n\\restrict looks like a command but is data\t2\n\\! also data\t3\n\\.\n');
      expect(out).toBe(DUMP.replace('\\restrict abcDEF123\n', '').replace('\\unrestrict abcDEF123\n', ''));
    },
  );

  it('sends \\restrict with its own key first when psql has it', async () => {
    const out = await guard(DUMP, 'ourkey0123');
    expect(out.startsWith('\\restrict ourkey0123\n')).toBe(true);
    expect(out.match(/restrict/g)?.length).toBe(2); // ours, and the COPY data line
  });

  it.each([
    ['\\! touch /tmp/x\n', '\\!', 1],
    ['SELECT 1;\n\\o |sh\n', '\\o', 2],
    ['SELECT 1; \\! id\n', '\\!', 1],
    ["\\copy public.t from program 'id'\n", '\\copy', 1],
    ['SELECT 1 \\g |id\n', '\\g', 1],
    ['\\set ON_ERROR_STOP 0\n', '\\set', 1],
    ["SELECT 'a';\\! id\n", '\\!', 1],
    ['SELECT $$a$$; \\! id\n', '\\!', 1],
    ['SELECT "a""b"; \\! id\n', '\\!', 1],
    ['COPY t FROM stdin;\n\\.\n\\! id\n', '\\!', 3],
    // Not a COPY psql reads data for: the lines after it are SQL.
    ['COPY (SELECT 1) TO stdout; -- FROM stdin\n\\! id\n', '\\!', 2],
    ["SELECT 'COPY t FROM stdin;\n';\n\\! id\n", '\\!', 3],
    // An identifier may hold $: foo$a$ is no dollar quote, so the quote after it is a real one.
    ["SELECT foo$a$ ' $a$ ';\\! id\n", '\\!', 1],
    ['SELECT 1.5e3$a$ x $a$; \\! id\n', '\\!', 1],
  ])('refuses %j (%s at line %i)', async (sql, cmd, line) => {
    await expect(guard(sql)).rejects.toThrow(
      new RegExp(`the psql meta-command ${cmd.replace(/\\/g, '\\\\')} at line ${line}: refused`),
    );
  });

  it('refuses text after COPY … FROM stdin; on its line, and (without \\restrict) a backslash before a quote', async () => {
    await expect(guard('COPY t FROM stdin; SELECT 1;\n')).rejects.toThrow(/text after COPY/);
    await expect(guard("SELECT 'a\\'' ; \\! id '\n")).rejects.toThrow(/backslash before a quote/);
    await expect(guard("SELECT 'a\\';\n", 'key0')).resolves.toContain("SELECT 'a\\';");
  });
});
