/**
 * What a command reports: a small model that the actions render as a job summary and the CLI as text,
 * so both show the same thing.
 */
import { escapeMarkdown } from '../util/markdown.js';

export interface ReportTable {
  title?: string;
  header: string[];
  rows: string[][];
  /**
   * Rows shown at most (default MAX_SHOWN_ROWS); the rest are counted in one line. `rest` says where the
   * full list is (e.g. an output), and `total` counts rows the command already left out of `rows`.
   */
  maxRows?: number;
  rest?: string;
  total?: number;
}

/** Tables longer than this are folded in a <details> block, so the verdict stays on the first screen. */
export const FOLD_ROWS = 12;
/** Rows shown per table: a database with thousands of tables must not make a page nobody can scroll. */
export const MAX_SHOWN_ROWS = 100;

export interface Report {
  title: string;
  status: 'success' | 'warning' | 'failure';
  /** One line under the title: the verdict, in words. */
  headline?: string;
  /**
   * Label/value pairs shown as a two-column table. The first pair is the table's header row (bold), so
   * put the identity there (the backup set): GFM tables need a header, and an empty one renders as an
   * empty row.
   */
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

/** The rows of `t` that are shown, and the line that counts the others (or undefined). */
function shownRows(t: ReportTable): { rows: string[][]; more?: string } {
  const max = t.maxRows ?? MAX_SHOWN_ROWS;
  const rows = t.rows.slice(0, max);
  const hidden = (t.total ?? t.rows.length) - rows.length;
  if (hidden <= 0) return { rows };
  return { rows, more: `… and ${hidden.toLocaleString('en-US')} more${t.rest ? `: ${t.rest}` : ''}` };
}

function markdownTable(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.map(escapeCell).join(' | ')} |`,
    `|${header.map(() => ':---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ];
}

export function reportToMarkdown(r: Report): string {
  const out: string[] = [`## ${STATUS_ICON[r.status]} ${escapeMarkdown(r.title)}`, ''];
  if (r.headline) out.push(`**${escapeMarkdown(r.headline)}**`, '');
  const [first, ...facts] = r.facts;
  if (first) out.push(...markdownTable(first, facts), '');
  for (const t of r.tables) {
    const { rows, more } = shownRows(t);
    const total = t.total ?? t.rows.length;
    const fold = total > FOLD_ROWS;
    const title = t.title ? escapeMarkdown(t.title) : 'Details';
    if (fold) out.push(`<details><summary>${title} (${total.toLocaleString('en-US')})</summary>`, '');
    else if (t.title) out.push(`### ${title}`, '');
    out.push(...markdownTable(t.header, rows), '');
    if (more) out.push(escapeMarkdown(more), '');
    if (fold) out.push('</details>', '');
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
    const { rows, more } = shownRows(t);
    const widths = t.header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
    const line = (cells: string[]): string => `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
    out.push(line(t.header));
    for (const row of rows) out.push(line(row));
    if (more) out.push(`  ${more}`);
  }
  for (const n of r.notes ?? []) out.push('', n);
  return out.join('\n');
}

const failureReports = new WeakMap<object, Report>();

/**
 * Gives a thrown error the summary its command wrote for it (what was reached before the failure), so the
 * host shows that rather than a bare message. The error itself is rethrown unchanged: its class and message
 * still decide the step's failure.
 */
export function attachReport<E>(err: E, report: Report): E {
  if (typeof err === 'object' && err !== null) failureReports.set(err, report);
  return err;
}

/** The summary attached to a thrown error, if its command wrote one. */
export function reportOf(err: unknown): Report | undefined {
  return typeof err === 'object' && err !== null ? failureReports.get(err) : undefined;
}
