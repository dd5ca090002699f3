/** compareContents: what counts as a difference between the manifest's contents and a restored copy. */
import { describe, expect, it } from 'vitest';
import type { SequenceInfo } from '../../src/core/manifest.js';
import { compareContents, LARGE_OBJECT_ALGORITHM, type MeasuredContents } from '../../src/core/postgres/contents.js';

const counts = { views: 1, materializedViews: 1, functions: 2, indexes: 3, constraints: 4, triggers: 1 };

function contents(over: Partial<MeasuredContents> = {}): MeasuredContents {
  return {
    extensions: [{ name: 'citext', version: '1.6', schema: 'public' }],
    sequences: [
      { schema: 'public', name: 'up', lastValue: '50', isCalled: true },
      { schema: 'public', name: 'down', lastValue: '-20', isCalled: true },
      { schema: 'public', name: 'fresh', lastValue: '1', isCalled: false },
    ],
    largeObjects: { count: 2, checksum: 'a'.repeat(64), algorithm: LARGE_OBJECT_ALGORITHM },
    objectCounts: { ...counts },
    ...over,
  };
}

const increments = new Map([
  [JSON.stringify(['public', 'up']), 1n],
  [JSON.stringify(['public', 'down']), -5n],
  [JSON.stringify(['public', 'fresh']), 1n],
]);

function withSequence(name: string, lastValue: string, isCalled: boolean): MeasuredContents {
  const base = contents();
  return {
    ...base,
    sequences: base.sequences.map((s): SequenceInfo => (s.name === name ? { ...s, lastValue, isCalled } : s)),
  };
}

function problems(expected: MeasuredContents, actual: MeasuredContents): Record<string, string> {
  const { checks } = compareContents(expected, actual, increments);
  return Object.fromEntries(checks.filter((c) => c.problem !== null).map((c) => [c.item, c.problem as string]));
}

describe('compareContents', () => {
  it('finds nothing when the copy holds the same', () => {
    const r = compareContents(contents(), contents(), increments);
    expect(r.checks.every((c) => c.problem === null)).toBe(true);
    expect(r.checks.map((c) => c.item)).toEqual([
      'extensions',
      'sequences',
      'large objects',
      'views',
      'materializedViews',
      'functions',
      'indexes',
      'constraints',
      'triggers',
    ]);
    expect(r.notes).toEqual([]);
  });

  it.each([
    // The dump read the sequence after the backup did: ahead in its direction is fine.
    ['ascending, ahead', withSequence('up', '75', true), {}],
    ['descending, ahead (lower)', withSequence('down', '-40', true), {}],
    ['never called, then called once', withSequence('fresh', '1', true), {}],
    ['ascending, behind', withSequence('up', '49', true), { sequences: 'public.up at 49, expected 50' }],
    [
      'descending, behind (higher)',
      withSequence('down', '-15', true),
      { sequences: 'public.down at -15, expected -20' },
    ],
    [
      'same value, no longer called',
      withSequence('up', '50', false),
      { sequences: 'public.up at 50 (not called), expected 50' },
    ],
  ])('sequence %s', (_title, actual, expected) => {
    expect(problems(contents(), actual)).toEqual(expected);
  });

  it('names missing and extra sequences, extensions, large objects and kinds', () => {
    const actual = contents({
      extensions: [],
      sequences: [
        { schema: 'public', name: 'up', lastValue: '50', isCalled: true },
        { schema: 'public', name: 'fresh', lastValue: '1', isCalled: false },
        { schema: 'x', name: 'new', lastValue: '1', isCalled: false },
      ],
      largeObjects: { count: 2, checksum: 'b'.repeat(64), algorithm: LARGE_OBJECT_ALGORITHM },
      objectCounts: { ...counts, triggers: 0 },
    });
    expect(problems(contents(), actual)).toEqual({
      extensions: 'missing: citext',
      sequences: 'public.down missing; x.new not in the manifest',
      'large objects': 'same count, different contents (checksum)',
      triggers: '0, expected 1',
    });
    expect(
      problems(contents(), contents({ largeObjects: { ...contents().largeObjects, count: 3 } }))['large objects'],
    ).toBe('3, expected 2');
  });

  it('notes, without failing, another extension version, an unknown algorithm and a kind it does not count', () => {
    const expected = contents({
      largeObjects: { count: 2, checksum: 'whatever', algorithm: 'pgdr-lo-future-v9' },
      objectCounts: { ...counts, policies: 2 },
    });
    const actual = contents({ extensions: [{ name: 'citext', version: '1.8', schema: 'public' }] });
    const r = compareContents(expected, actual, increments);
    expect(r.checks.filter((c) => c.problem !== null)).toEqual([]);
    expect(r.notes).toEqual([
      'extension citext: version 1.8 in the restored copy, 1.6 in the backup',
      'large objects: checksum algorithm pgdr-lo-future-v9 is unknown to this version; only counted',
      "policies: counted by the backup's version, not by this one; not compared",
    ]);
  });
});
