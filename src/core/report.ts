/**
 * What a command reports: a small model that the actions render as a job summary and the CLI as text,
 * so both show the same thing.
 */
import { escapeMarkdown } from '../util/markdown.js';

export interface ReportTable {
  title?: string;
  header: string[];
  rows: string[][];
}

export interface Report {
  title: string;
  status: 'success' | 'warning' | 'failure';
  /** One line under the title: the verdict, in words. */
  headline?: string;
  /** Label/value pairs shown as a two-column table. */
  facts: Array<[string, string]>;
  tables: ReportTable[];
  /** Raw markdown blocks for the job summary only (e.g. a Mermaid chart). */
  markdown?: string[];
  notes?: string[];
}

export interface CommandResult {
  outputs: Record<string, string | number | boolean>;
  report: Report;
  /** Set when the command ran to the end but its verdict is a failure: the step fails with this message. */
  failure?: string;
  /** With `failure`: its kind, one of the command's `failureKinds` (the `failure-kind` output). */
  failureKind?: string;
  /** Warnings to annotate the run with. */
  warnings?: string[];
  /** What `pgdr … --json` prints instead of the outputs (e.g. list's array). */
  json?: unknown;
}

export const STATUS_ICON: Record<Report['status'], string> = { success: '✅', warning: '⚠️', failure: '❌' };

/** Every text of a report is literal text (it may quote an error or a table name): escaped, never Markdown. */
const escapeCell = (s: string): string => escapeMarkdown(s);

export function reportToMarkdown(r: Report): string {
  const out: string[] = [`## ${STATUS_ICON[r.status]} ${escapeMarkdown(r.title)}`, ''];
  if (r.headline) out.push(`**${escapeMarkdown(r.headline)}**`, '');
  if (r.facts.length) {
    out.push('| | |', '|---|---|');
    for (const [k, v] of r.facts) out.push(`| ${escapeCell(k)} | ${escapeCell(v)} |`);
    out.push('');
  }
  for (const t of r.tables) {
    if (t.title) out.push(`### ${escapeMarkdown(t.title)}`, '');
    out.push(`| ${t.header.map(escapeCell).join(' | ')} |`, `|${t.header.map(() => '---').join('|')}|`);
    for (const row of t.rows) out.push(`| ${row.map(escapeCell).join(' | ')} |`);
    out.push('');
  }
  for (const m of r.markdown ?? []) out.push(m, '');
  for (const n of r.notes ?? []) out.push(`> ${escapeMarkdown(n)}`, '');
  return out.join('\n');
}

export function reportToText(r: Report): string {
  const out: string[] = [`${STATUS_ICON[r.status]} ${r.title}`];
  if (r.headline) out.push(r.headline);
  const w = Math.max(0, ...r.facts.map(([k]) => k.length));
  for (const [k, v] of r.facts) out.push(`  ${k.padEnd(w)}  ${v}`);
  for (const t of r.tables) {
    out.push('');
    if (t.title) out.push(t.title);
    const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((row) => (row[i] ?? '').length)));
    const line = (cells: string[]): string => `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
    out.push(line(t.header));
    for (const row of t.rows) out.push(line(row));
  }
  for (const n of r.notes ?? []) out.push('', n);
  return out.join('\n');
}
