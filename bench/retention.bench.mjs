#!/usr/bin/env node
// `node bench/retention.bench.mjs [COUNT]`: how long applyRetention takes to decide over COUNT backups
// (default 10 000: one every 53 minutes for about a year, in one set). Prints one line; asserts nothing.
// Transpiles the two source files it needs with TypeScript (no build step, runs on Node 20 and 24).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-bench-retention-'));
for (const file of ['src/core/retention.ts', 'src/util/errors.ts']) {
  const js = ts.transpileModule(fs.readFileSync(path.join(root, file), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const target = path.join(out, file.replace(/\.ts$/, '.js'));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, js);
}
fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
const { applyRetention, DEFAULT_POLICY } = await import(pathToFileURL(path.join(out, 'src/core/retention.js')).href);

const count = Number(process.argv[2] ?? 10_000);
const start = Date.parse('2025-01-01T00:00:00Z');
const backups = Array.from({ length: count }, (_, i) => {
  const createdAt = new Date(start + i * 53 * 60_000);
  return { name: 'db', manifestKey: `backups/db/${createdAt.toISOString()}.manifest.json`, createdAt };
});
// Shuffled, so the sort does real work (the catalog hands them over newest first).
for (let i = backups.length - 1; i > 0; i--) {
  const j = Math.floor(Math.random() * (i + 1));
  [backups[i], backups[j]] = [backups[j], backups[i]];
}
const now = new Date(start + count * 53 * 60_000);
const policy = { ...DEFAULT_POLICY, yearly: 5 };

applyRetention(backups, policy, now); // warm-up
const times = [];
let kept = 0;
for (let run = 0; run < 7; run++) {
  const t0 = process.hrtime.bigint();
  const decisions = applyRetention(backups, policy, now);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  kept = decisions.filter((d) => d.keep).length;
}
times.sort((a, b) => a - b);
fs.rmSync(out, { recursive: true, force: true });
console.log(
  `retention: ${count} backups decided in ${times[3].toFixed(1)} ms median (min ${times[0].toFixed(1)}, max ${times[6].toFixed(1)}; 7 runs; ${kept} kept) on Node ${process.version}`,
);
