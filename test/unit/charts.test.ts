// @vitest-environment jsdom
/**
 * Every chart the project emits (monitor's trend charts) parsed by the real `mermaid` package, as GitHub
 * renders it (a syntax error there shows as an error box), and read back from mermaid's own chart data:
 * one bar per backup with unique categories, zero-based y axes, at most 15 labels written out, rows in
 * K/M, the palette colour applied. mermaid needs a DOM: jsdom provides it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backup } from '../../src/core/catalog.js';
import { MAX_CHART_LABELS, trendCharts } from '../../src/core/monitor/checks.js';
import { backup, dailyBackups, NOW } from './summary-fixtures.js';

type Mermaid = typeof import('mermaid')['default'];
let mermaid: Mermaid;

beforeAll(async () => {
  mermaid = (await import('mermaid')).default;
});

interface ChartData {
  yAxis: { type: string; title: string; min: number; max: number };
  xAxis: { type: string; categories: string[] };
  plots: Array<{ type: 'bar' | 'line'; fill?: string; strokeFill?: string; data: Array<[string, number]> }>;
}

/** The ```mermaid blocks of a markdown text. */
function mermaidBlocks(md: string): string[] {
  return [...md.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
}

async function chartData(code: string): Promise<ChartData> {
  await mermaid.parse(code); // throws on a syntax error
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(code);
  return (diagram.db as unknown as { getXYChartData(): ChartData }).getXYChartData();
}

const sameMinute = Array.from({ length: 5 }, (_, i) =>
  backup({ at: new Date(NOW.getTime() - i * 10_000), size: 5_000_000 - i }),
);

const CASES: Record<string, Backup[]> = {
  'two backups': dailyBackups(2, () => 1_000),
  '30 daily backups, the newest smaller': dailyBackups(30, (i) => (i === 29 ? 1.4e9 : 1.9e9 + i * 1e6)),
  '40 backups (last 30 charted)': dailyBackups(
    40,
    (i) => 2 ** 20 * (i + 1),
    (i) => 4_400_000 + i,
  ),
  '30 backups within one hour': Array.from({ length: 30 }, (_, i) =>
    backup({ at: new Date(NOW.getTime() - i * 2 * 60_000), size: 9_000_000 }),
  ),
  'five backups in one minute': sameMinute,
  'hundreds of rows': dailyBackups(
    3,
    () => 10_000,
    () => 420,
  ),
  'empty database': dailyBackups(
    3,
    () => 0,
    () => 0,
  ),
};

describe('monitor trend charts parsed by mermaid', () => {
  it.each(Object.keys(CASES))('%s', async (name) => {
    const backups = CASES[name] as Backup[];
    const md = trendCharts('nightly', backups) as string;
    const blocks = mermaidBlocks(md);
    expect(blocks).toHaveLength(2);
    const n = Math.min(30, backups.length);
    const [size, rows] = await Promise.all(blocks.map(chartData));
    for (const chart of [size, rows] as ChartData[]) {
      expect(chart.xAxis.categories).toHaveLength(n);
      expect(new Set(chart.xAxis.categories).size).toBe(n);
      const labelled = chart.xAxis.categories.filter((c) => c.replace(/\u200b/g, '') !== '');
      expect(labelled.length).toBeGreaterThan(0);
      expect(labelled.length).toBeLessThanOrEqual(MAX_CHART_LABELS);
      expect(chart.yAxis.min).toBe(0);
      const plot = chart.plots[0];
      expect(plot?.data).toHaveLength(n);
      expect(chart.yAxis.max).toBeGreaterThanOrEqual(Math.max(...(plot?.data.map(([, v]) => v) ?? [])));
    }
    expect(size?.plots[0]?.type).toBe('bar');
    expect(size?.plots[0]?.fill).toBe('#1f6feb');
    expect(rows?.plots[0]?.type).toBe('line');
    // Rows in thousands or millions: no 4400000 on an axis.
    for (const [, v] of rows?.plots[0]?.data ?? []) expect(v).toBeLessThan(1000);
  });

  it('shows the newest, smaller backup as its own bar', async () => {
    const [size] = await Promise.all(
      mermaidBlocks(trendCharts('nightly', CASES['30 daily backups, the newest smaller'] as Backup[]) as string).map(
        chartData,
      ),
    );
    const values = size?.plots[0]?.data.map(([, v]) => v) ?? [];
    expect(values.at(-1)).toBeLessThan(Math.min(...values.slice(0, -1)));
    // From zero, a 25 % drop is a quarter of the bar: the axis top is near the largest value.
    expect(size?.yAxis.max).toBeLessThan(Math.max(...values) * 1.5);
  });

  it('parses the charts in the monitor summaries', async () => {
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'summaries');
    const blocks = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('monitor-'))
      .flatMap((f) => mermaidBlocks(fs.readFileSync(path.join(dir, f), 'utf8')));
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    for (const b of blocks) expect((await chartData(b)).yAxis.min).toBe(0);
  });

  it('is a real parser: a broken chart is refused', async () => {
    await expect(mermaid.parse('xychart-beta\n  x-axis ["a", "b"\n  bar [1, 2]\n')).rejects.toThrow();
  });

  it('labels the newest backup with its time', async () => {
    const backups = dailyBackups(30, () => 1e9);
    const [size] = await Promise.all(mermaidBlocks(trendCharts('nightly', backups) as string).map(chartData));
    const newest = new Date(NOW.getTime() - 60_000).toISOString().slice(5, 16).replace('T', ' ');
    expect(size?.xAxis.categories.at(-1)).toBe(newest);
  });
});
