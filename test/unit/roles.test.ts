import { describe, expect, it } from 'vitest';
import type { RoleInfo } from '../../src/core/manifest.js';
import {
  createRoleSql,
  isPredefinedRole,
  privilegedAttributes,
  unexpectedOwners,
  withRoles,
} from '../../src/core/postgres/roles.js';

function role(name: string, attrs: Partial<RoleInfo['attributes']> = {}, memberOf: string[] = []): RoleInfo {
  return {
    name,
    attributes: {
      login: false,
      superuser: false,
      createdb: false,
      createrole: false,
      inherit: true,
      replication: false,
      bypassrls: false,
      ...attrs,
    },
    memberOf,
  };
}

describe('CREATE ROLE from the manifest', () => {
  it.each([
    [role('app_owner'), 'CREATE ROLE "app_owner" NOLOGIN'],
    [role('App Owner'), 'CREATE ROLE "App Owner" NOLOGIN'],
    [role('x"; DROP DATABASE prod; --'), 'CREATE ROLE "x""; DROP DATABASE prod; --" NOLOGIN'],
    [role('reader', { inherit: false }), 'CREATE ROLE "reader" NOLOGIN NOINHERIT'],
    // Production's LOGIN and SUPERUSER are never given: the role is created NOLOGIN, unprivileged.
    [role('admin', { login: true, superuser: true, createrole: true }), 'CREATE ROLE "admin" NOLOGIN'],
  ])('%o → %s', (r, sql) => {
    expect(createRoleSql(r)).toBe(sql);
  });

  it('lists the privileged attributes a created role does not get', () => {
    expect(privilegedAttributes(role('a', { superuser: true, bypassrls: true, login: true }))).toEqual([
      'SUPERUSER',
      'BYPASSRLS',
    ]);
    expect(privilegedAttributes(role('b'))).toEqual([]);
  });

  it.each([
    ['pg_read_all_data', true],
    ['pg_database_owner', true],
    ['postgres', false],
    ['app_pg_user', false],
  ])('%s predefined: %s', (name, predefined) => {
    expect(isPredefinedRole(name)).toBe(predefined);
  });
});

describe('withRoles', () => {
  it('creates the contents section with empty other parts when absent, and keeps them when present', () => {
    const roles = [role('a')];
    expect(withRoles(undefined, roles)).toEqual({
      roles,
      extensions: [],
      sequences: [],
      largeObjects: { count: 0, checksum: '', algorithm: 'none' },
      objectCounts: {},
    });
    const existing = {
      extensions: [{ name: 'citext', version: '1.6', schema: 'public' }],
      sequences: [],
      largeObjects: { count: 2, checksum: 'abc', algorithm: 'x' },
      objectCounts: { views: 1 },
    };
    expect(withRoles(existing, roles)).toEqual({ ...existing, roles });
    expect(withRoles({ ...existing, roles }, undefined)).toEqual(existing);
  });
});

describe('unexpectedOwners', () => {
  it('names relations owned by a role the manifest does not list', () => {
    const owners = [
      { schema: 'app', name: 'items', owner: 'app_owner' },
      { schema: 'app', name: 'lost', owner: 'postgres' },
    ];
    expect(unexpectedOwners(owners, [role('app_owner')])).toEqual([{ schema: 'app', name: 'lost', owner: 'postgres' }]);
  });
});
