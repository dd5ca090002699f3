import { describe, expect, it } from 'vitest';
import { grantsFor, type ReadAccess, readAccessError, readsEverything } from '../../src/core/postgres/read-access.js';
import { UserError } from '../../src/util/errors.js';

const none: ReadAccess = { role: 'b', major: 15, schemas: [], relations: [], largeObjects: { count: 0, oids: [] } };

describe('read-access grants', () => {
  it('nothing missing: no grants', () => {
    expect(readsEverything(none)).toBe(true);
    expect(grantsFor(none)).toEqual([]);
  });

  it('quotes every identifier, the role included', () => {
    const a: ReadAccess = {
      ...none,
      role: 'we"ird role',
      schemas: ['My "S"'],
      relations: [
        { schema: 'My "S"', name: 't', kind: 'table' },
        { schema: 'public', name: 'Seq', kind: 'sequence' },
      ],
      largeObjects: { count: 1, oids: ['16582'] },
    };
    expect(readsEverything(a)).toBe(false);
    expect(grantsFor(a)).toEqual([
      'GRANT USAGE ON SCHEMA "My ""S""" TO "we""ird role";',
      'GRANT SELECT ON TABLE "My ""S"""."t" TO "we""ird role";',
      'GRANT SELECT ON SEQUENCE "public"."Seq" TO "we""ird role";',
      'GRANT SELECT ON LARGE OBJECT 16582 TO "we""ird role";',
    ]);
  });

  it('many tables in a schema: one GRANT … ON ALL TABLES IN SCHEMA', () => {
    const relations = Array.from({ length: 11 }, (_, i) => ({ schema: 's', name: `t${i}`, kind: 'table' as const }));
    expect(grantsFor({ ...none, relations })).toEqual(['GRANT SELECT ON ALL TABLES IN SCHEMA "s" TO "b";']);
  });

  it('more large objects than listed: one block that grants them all', () => {
    const g = grantsFor({ ...none, role: "o'k", largeObjects: { count: 21, oids: ['1', '2'] } });
    expect(g).toHaveLength(1);
    expect(g[0]).toContain(`format('GRANT SELECT ON LARGE OBJECT %s TO %I', o, 'o''k')`);
  });

  it.each([
    [13, false],
    [14, true],
  ])('PostgreSQL %i: pg_read_all_data offered: %s', (major, offered) => {
    const e = readAccessError({ ...none, major, relations: [{ schema: 's', name: 't', kind: 'table' }] });
    expect(e).toBeInstanceOf(UserError);
    expect(e.message.includes('GRANT pg_read_all_data TO "b";')).toBe(offered);
    expect(e.message).toContain('nothing was dumped or stored');
  });
});
