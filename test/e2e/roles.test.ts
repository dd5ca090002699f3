import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/core/manifest.js';
import { runAction } from '../harness/action.js';
import { createDatabase, pgUrl, psql, psqlOn } from '../harness/context.js';
import { type PgServer, startPostgres } from '../harness/postgres.js';

const PASSPHRASE = `roles pa'ss ${Date.now()}`;
const S = `${process.pid}_${Date.now().toString(36)}`;
// Names pg_dump must quote (a capital, a space): what verify and restore generate must quote them too.
const OWNER = `App Owner ${S}`;
const RO = `app_ro_${S}`;
const BASE = `app_base_${S}`;
const BACKUP_ROLE = `bk_${S}`;
const BACKUP_PASSWORD = 'bk pa55';
const NEEDED = [OWNER, BASE, RO, BACKUP_ROLE].sort();
const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

let fresh: PgServer | undefined;
let source = '';
let dir = '';

/** psql as the superuser on the fresh cluster. */
function freshSql(database: string, sql: string): string {
  return psqlOn(fresh as PgServer, database, sql);
}

/** Owners and grants of the app schema's objects, as text to compare across clusters. */
const OWNERSHIP_SQL = `
SELECT c.relname || ' ' || c.relkind::text || ' owner=' || pg_get_userbyid(c.relowner)
       || ' ro_select=' || has_table_privilege(${lit(RO)}, c.oid, 'SELECT')
       || ' ro_insert=' || has_table_privilege(${lit(RO)}, c.oid, 'INSERT')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'app'
UNION ALL SELECT 'schema owner=' || pg_get_userbyid(nspowner) || ' ro_usage=' || has_schema_privilege(${lit(RO)}, oid, 'USAGE')
  FROM pg_namespace WHERE nspname = 'app'
UNION ALL SELECT 'lo owner=' || pg_get_userbyid(lomowner) || ' acl=' || coalesce(lomacl::text, '') FROM pg_largeobject_metadata
UNION ALL SELECT 'default acl ' || pg_get_userbyid(defaclrole) || ' ' || defaclacl::text FROM pg_default_acl
UNION ALL SELECT 'seq ' || last_value::text FROM app.counter
ORDER BY 1`;

const ROLES_SQL = `SELECT rolname || ' login=' || rolcanlogin || ' member_of=' || coalesce((SELECT string_agg(p.rolname, ',') FROM pg_auth_members m JOIN pg_roles p ON p.oid = m.roleid WHERE m.member = r.oid), '')
FROM pg_roles r WHERE rolname LIKE ${lit(`%${S}`)} ORDER BY 1`;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-roles-'));
  source = createDatabase('roles_src');
  psql(
    'postgres',
    `CREATE ROLE ${q(BASE)} NOLOGIN;
     CREATE ROLE ${q(OWNER)} NOLOGIN IN ROLE ${q(BASE)};
     CREATE ROLE ${q(RO)} NOLOGIN NOINHERIT;
     CREATE ROLE ${q(BACKUP_ROLE)} LOGIN PASSWORD ${lit(BACKUP_PASSWORD)} IN ROLE pg_read_all_data;`,
  );
  psql(
    source,
    `CREATE SCHEMA app AUTHORIZATION ${q(OWNER)};
     SET ROLE ${q(OWNER)};
     CREATE TABLE app.items (id serial PRIMARY KEY, name text NOT NULL);
     INSERT INTO app.items (name) SELECT 'item ' || g FROM generate_series(1, 50) g;
     CREATE SEQUENCE app.counter;
     SELECT setval('app.counter', 42);
     CREATE MATERIALIZED VIEW app.item_names AS SELECT name FROM app.items;
     GRANT USAGE ON SCHEMA app TO ${q(RO)};
     GRANT SELECT ON app.items, app.item_names TO ${q(RO)};
     ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO ${q(RO)};
     SELECT lo_from_bytea(0, 'large object bytes');
     RESET ROLE;`,
  );
  // The read-only backup role can read the large object too.
  const lo = psql(source, 'SELECT oid FROM pg_largeobject_metadata');
  psql(source, `GRANT SELECT ON LARGE OBJECT ${lo} TO ${q(BACKUP_ROLE)}`);
  fresh = await startPostgres();
});

afterAll(() => {
  fresh?.stop();
  if (source) psql('postgres', `DROP DATABASE IF EXISTS ${q(source)} WITH (FORCE)`);
  psql('postgres', [OWNER, RO, BASE, BACKUP_ROLE].map((r) => `DROP ROLE IF EXISTS ${q(r)};`).join('\n'));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('roles travel with the backup (bundled actions, a second fresh cluster)', () => {
  it('records the roles, verifies and restores on a server that has none of them, with owners and grants as in production', async () => {
    const backup = await runAction('backup', {
      'database-url': pgUrl(source, BACKUP_ROLE, BACKUP_PASSWORD),
      destination: dir,
      name: 'roles',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(backup.errors).toEqual([]);
    expect(backup.warnings).toEqual([]);
    const manifestFile = path.join(dir, (backup.outputs['manifest-key'] as string) ?? '');
    const manifest = parseManifest(fs.readFileSync(manifestFile));
    const roles = manifest.contents?.roles ?? [];
    // The owner, the grantees (the backup role holds a grant on the large object) and the role the owner
    // is a member of; no predefined role.
    expect(roles.filter((r) => r.name.endsWith(S)).map((r) => r.name)).toEqual(NEEDED);
    expect(roles.some((r) => r.name.startsWith('pg_'))).toBe(false);
    expect(roles.find((r) => r.name === BACKUP_ROLE)?.memberOf).toEqual(['pg_read_all_data']);
    expect(roles.find((r) => r.name === OWNER)?.memberOf).toEqual([BASE]);
    expect(roles.find((r) => r.name === RO)?.attributes.inherit).toBe(false);
    const production = psql(source, OWNERSHIP_SQL);
    expect(production).toContain(`items r owner=${OWNER} ro_select=true ro_insert=false`);

    expect(freshSql('postgres', ROLES_SQL)).toBe('');
    const verify = await runAction('verify', {
      'database-url': (fresh as PgServer).url(),
      destination: dir,
      name: 'roles',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(verify.errors).toEqual([]);
    expect(verify.outputs.result).toBe('passed');
    expect(verify.summary).toContain('restored as in production and checked');
    expect(verify.stdout).toContain(
      `created 4 roles the backup needs (NOLOGIN, no password; dropped afterwards): ${NEEDED.join(', ')}`,
    );
    expect(verify.stdout).toContain(`dropped the roles created for this verify: ${NEEDED.join(', ')}`);
    // The roles it created are gone with the scratch database.
    expect(freshSql('postgres', ROLES_SQL)).toBe('');
    expect(freshSql('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'pgdr_verify_%'")).toBe('0');

    const restore = await runAction('restore', {
      'database-url': (fresh as PgServer).url('appdb'),
      confirm: 'appdb',
      destination: dir,
      name: 'roles',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(restore.errors).toEqual([]);
    expect((restore.outputs['created-roles'] as string).split(',')).toEqual(NEEDED);
    expect(restore.summary).toContain('ALTER ROLE');
    // Created NOLOGIN, with the production memberships; owners, grants, default privileges, the
    // sequence and the large object as in production.
    expect(freshSql('postgres', ROLES_SQL).split('\n')).toEqual(
      [
        `${OWNER} login=false member_of=${BASE}`,
        `${BASE} login=false member_of=`,
        `${RO} login=false member_of=`,
        `${BACKUP_ROLE} login=false member_of=pg_read_all_data`,
      ].sort(),
    );
    expect(freshSql('appdb', OWNERSHIP_SQL)).toBe(production);

    // A second restore finds every role there and alters none of them.
    freshSql('postgres', `ALTER ROLE ${q(RO)} LOGIN PASSWORD 'set afterwards'`);
    const again = await runAction('restore', {
      'database-url': (fresh as PgServer).url('appdb'),
      confirm: 'appdb',
      destination: dir,
      name: 'roles',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(again.errors).toEqual([]);
    expect(again.outputs['created-roles']).toBe('');
    expect(freshSql('postgres', `SELECT rolcanlogin FROM pg_roles WHERE rolname = ${lit(RO)}`)).toBe('t');
    expect(freshSql('appdb', OWNERSHIP_SQL)).toBe(production);
  });

  it('a backup role that cannot read the roles warns and goes on; verify then restores without owners and says so', async () => {
    const db = createDatabase('roles_hidden');
    // A backup role with SELECT on the table only (pg_read_all_data would read the catalog anyway).
    const reader = `reader_${S}`;
    psql('postgres', `CREATE ROLE ${q(reader)} LOGIN PASSWORD ${lit(BACKUP_PASSWORD)}`);
    try {
      psql(
        db,
        `CREATE TABLE public.t (id int); INSERT INTO public.t VALUES (1), (2);
         ALTER TABLE public.t OWNER TO ${q(OWNER)};
         GRANT SELECT ON public.t TO ${q(reader)};
         REVOKE SELECT ON pg_catalog.pg_shdepend FROM PUBLIC;`,
      );
      const backup = await runAction('backup', {
        'database-url': pgUrl(db, reader, BACKUP_PASSWORD),
        destination: dir,
        name: 'hidden',
        format: 'custom',
        'encryption-passphrase': PASSPHRASE,
      });
      expect(backup.errors).toEqual([]);
      expect(backup.warnings.join('\n')).toMatch(/cannot read the roles the database needs \(permission denied/);
      const manifest = parseManifest(fs.readFileSync(path.join(dir, backup.outputs['manifest-key'] as string)));
      expect(manifest.contents?.roles).toBeUndefined();

      const verify = await runAction('verify', {
        'database-url': (fresh as PgServer).url(),
        destination: dir,
        name: 'hidden',
        'encryption-passphrase': PASSPHRASE,
      });
      expect(verify.errors).toEqual([]);
      expect(verify.outputs.result).toBe('passed');
      expect(verify.summary).toContain('Owners and grants were not restored: the backup records no roles');
      expect(verify.summary).toContain('not restored (see the note)');
    } finally {
      psql('postgres', `DROP DATABASE IF EXISTS ${q(db)} WITH (FORCE); DROP ROLE IF EXISTS ${q(reader)}`);
    }
  });
});
