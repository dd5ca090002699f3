#!/usr/bin/env node
// `node bench/copy-scan.bench.mjs [MB]`: throughput of the plain-dump scanner (CopyScanner, hashing on)
// over a synthetic dump held in memory (default 256 MB) fed in 64 KiB chunks, as a pipe from pg_dump
// delivers it. Three shapes: `data` (tables of rows, little DDL: a typical dump), `sql` (half the bytes
// are DDL: function bodies, comments, column defaults) and `ddl` (almost only CREATE TABLE, ALTER,
// GRANT: the worst case for the statement reader, which looks at every byte outside quotes).
// Prints MB/s (wall clock, and per CPU second: steadier on a shared machine), best of 3 per shape;
// asserts nothing. Transpiles the source it needs with TypeScript.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-bench-copyscan-'));
const files = fs.readdirSync(path.join(root, 'src/core/pipeline')).filter((f) => f.startsWith('copy-'));
for (const f of files) {
  const file = `src/core/pipeline/${f}`;
  const js = ts.transpileModule(fs.readFileSync(path.join(root, file), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const target = path.join(out, file.replace(/\.ts$/, '.js'));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, js);
}
fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
fs.symlinkSync(path.join(root, 'node_modules'), path.join(out, 'node_modules'));
const { CopyScanner, rowHasher } = await import(pathToFileURL(path.join(out, 'src/core/pipeline/copy-scan.js')).href);

const totalBytes = Number(process.argv[2] ?? 256) * 1024 * 1024;

function table(i, rows, ddlBytes) {
  const ddl = [
    '--',
    `-- Name: t${i}; Type: TABLE; Schema: public; Owner: app`,
    '--',
    '',
    `CREATE TABLE public.t${i} (`,
    '    id integer NOT NULL,',
    `    note text DEFAULT 'it''s a ''default'' -- not a comment'::text,`,
    '    amount numeric(12,2)',
    ');',
    '',
    `COMMENT ON TABLE public.t${i} IS 'rows of ${i}: ''quoted'' /* not a comment */ $$ not dollar $$';`,
    '',
    `CREATE FUNCTION public.f${i}() RETURNS text`,
    '    LANGUAGE plpgsql',
    `    AS $_$begin return 'x' || $$y$$ || ${'body '.repeat(Math.max(1, ddlBytes / 5))}'; end$_$;`,
    '',
  ].join('\n');
  const data = [
    '--',
    `-- Data for Name: t${i}; Type: TABLE DATA; Schema: public; Owner: app`,
    '--',
    '',
    `COPY public.t${i} (id, note, amount) FROM stdin;`,
  ];
  for (let r = 0; r < rows; r++) data.push(`${r}\tnote number ${r} for table ${i}\\twith a tab\t${r}.50`);
  data.push('\\.', '', '');
  return `${ddl}\n${data.join('\n')}\n`;
}

/** DDL without bodies: the per-byte part of the SQL reader (names, keywords, short strings). */
function ddlTable(i) {
  const cols = Array.from(
    { length: 40 },
    (_, c) => `    col_${c} character varying(200) DEFAULT 'v${c}'::character varying NOT NULL`,
  );
  return [
    '--',
    `-- Name: d${i}; Type: TABLE; Schema: public; Owner: app`,
    '--',
    '',
    `CREATE TABLE public.d${i} (`,
    cols.join(',\n'),
    ');',
    '',
    `ALTER TABLE public.d${i} OWNER TO app;`,
    `CREATE INDEX d${i}_col_1_idx ON public.d${i} USING btree (col_1, col_2);`,
    `GRANT SELECT ON TABLE public.d${i} TO reader;`,
    '',
    '--',
    `-- Data for Name: d${i}; Type: TABLE DATA; Schema: public; Owner: app`,
    '--',
    '',
    `COPY public.d${i} (col_0) FROM stdin;`,
    'a',
    '\\.',
    '',
    '',
  ].join('\n');
}

function dump(shape) {
  const head = "SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n\n";
  const parts = [Buffer.from(head)];
  let size = parts[0].length;
  for (let i = 0; size < totalBytes; i++) {
    const b = Buffer.from(
      shape === 'data' ? table(i, 20_000, 200) : shape === 'sql' ? table(i, 200, 8_000) : ddlTable(i),
    );
    parts.push(b);
    size += b.length;
  }
  return Buffer.concat(parts);
}

const xx = await rowHasher();
const CHUNK = 64 * 1024;
for (const shape of ['data', 'sql', 'ddl']) {
  const buf = dump(shape);
  let best = 0;
  let bestCpu = 0;
  let sections = 0;
  for (let run = 0; run < 3; run++) {
    const scanner = new CopyScanner(xx);
    scanner.on('data', () => {});
    const done = new Promise((resolve, reject) => {
      scanner.on('end', resolve);
      scanner.on('error', reject);
    });
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for (let p = 0; p < buf.length; p += CHUNK) scanner.write(buf.subarray(p, p + CHUNK));
    scanner.end();
    await done;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    best = Math.max(best, buf.length / 1024 / 1024 / s);
    bestCpu = Math.max(bestCpu, buf.length / 1024 / 1024 / ((cpu.user + cpu.system) / 1e6));
    sections = scanner.sections.length;
  }
  console.log(
    `${shape}: ${(buf.length / 1024 / 1024).toFixed(0)} MB, ${sections} tables, ${best.toFixed(0)} MB/s (${bestCpu.toFixed(0)} MB per CPU second)`,
  );
}
fs.rmSync(out, { recursive: true, force: true });
