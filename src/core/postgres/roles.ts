/**
 * Roles travel with the backup: backup records the roles the dumped database needs (readRoles), and
 * verify/restore create the missing ones on the target (createMissingRoles) before loading a dump that
 * sets owners and grants. Only pg_roles and pg_auth_members are read (never pg_authid: no passwords),
 * so it works for a non-superuser backup role and on managed services. Roles are created NOLOGIN with no
 * password; an existing role is never altered.
 */
import pg from 'pg';
import type { DatabaseContents, RoleInfo } from '../manifest.js';

/**
 * The roles the current database needs: every role pg_shdepend ties to it (owners of its objects and of
 * the database, roles named in ACLs and default ACLs as grantee or grantor, roles in row-level policies),
 * the bootstrap superuser (oid 10, never in pg_shdepend: it is pinned) when it owns an object pg_dump
 * writes an owner for, and, transitively, the roles those are members of (to recreate the memberships).
 * Predefined `pg_*` roles exist on every server (their names are reserved): they are left out of the list
 * but kept in `memberOf`.
 */
const ROLES_SQL = `
WITH RECURSIVE db AS (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()),
user_ns AS (
  SELECT oid FROM pg_catalog.pg_namespace
  WHERE nspname <> 'information_schema' AND nspname !~ '^pg_'
),
direct(oid) AS (
  SELECT d.refobjid FROM pg_catalog.pg_shdepend d, db
  WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
    AND (d.dbid = db.oid OR (d.dbid = 0 AND d.classid = 'pg_catalog.pg_database'::pg_catalog.regclass AND d.objid = db.oid))
  UNION
  SELECT 10::oid WHERE
       EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspowner = 10 AND oid IN (SELECT oid FROM user_ns))
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relowner = 10 AND relnamespace IN (SELECT oid FROM user_ns))
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc WHERE proowner = 10 AND pronamespace IN (SELECT oid FROM user_ns))
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_type WHERE typowner = 10 AND typnamespace IN (SELECT oid FROM user_ns))
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject_metadata WHERE lomowner = 10)
),
needed(oid) AS (
  SELECT oid FROM direct
  UNION
  SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN needed n ON m.member = n.oid
)
SELECT r.rolname AS name, r.rolcanlogin AS login, r.rolsuper AS superuser, r.rolcreatedb AS createdb,
       r.rolcreaterole AS createrole, r.rolinherit AS inherit, r.rolreplication AS replication,
       r.rolbypassrls AS bypassrls,
       ARRAY(SELECT p.rolname::text FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles p ON p.oid = m.roleid
             WHERE m.member = r.oid ORDER BY 1) AS member_of
FROM pg_catalog.pg_roles r
WHERE r.oid IN (SELECT oid FROM needed) AND r.rolname !~ '^pg_'
ORDER BY r.rolname COLLATE "C"`;

/** A row of ROLES_SQL: the attributes as columns of their own. */
type RoleRow = RoleInfo['attributes'] & { name: string; member_of: string[] };

/** The roles the connected database needs (see ROLES_SQL). Reads pg_roles, pg_auth_members, pg_shdepend. */
export async function readRoles(client: pg.ClientBase): Promise<RoleInfo[]> {
  const r = await client.query<RoleRow>(ROLES_SQL);
  return r.rows.map((row) => ({
    name: row.name,
    attributes: {
      login: row.login,
      superuser: row.superuser,
      createdb: row.createdb,
      createrole: row.createrole,
      inherit: row.inherit,
      replication: row.replication,
      bypassrls: row.bypassrls,
    },
    memberOf: row.member_of,
  }));
}

/** A predefined role (`pg_read_all_data`, `pg_database_owner`…): present on every server, never created. */
export function isPredefinedRole(name: string): boolean {
  return name.startsWith('pg_');
}

/** Attributes a created role does not get (they give power; set them by hand if you need them). */
export function privilegedAttributes(role: RoleInfo): string[] {
  const a = role.attributes;
  return [
    a.superuser ? 'SUPERUSER' : '',
    a.createdb ? 'CREATEDB' : '',
    a.createrole ? 'CREATEROLE' : '',
    a.replication ? 'REPLICATION' : '',
    a.bypassrls ? 'BYPASSRLS' : '',
  ].filter(Boolean);
}

/** `CREATE ROLE "name" NOLOGIN [NOINHERIT]`: every name quoted, never a password or a privileged attribute. */
export function createRoleSql(role: RoleInfo): string {
  return `CREATE ROLE ${pg.escapeIdentifier(role.name)} NOLOGIN${role.attributes.inherit ? '' : ' NOINHERIT'}`;
}

/** What the connected role may do with roles: create them (CREATEROLE) and restore owners (superuser). */
export async function roleRights(
  client: pg.ClientBase,
): Promise<{ user: string; superuser: boolean; createRole: boolean }> {
  const r = await client.query<{ user: string; superuser: boolean; createrole: boolean }>(
    'SELECT rolname AS user, rolsuper AS superuser, rolcreaterole AS createrole FROM pg_catalog.pg_roles WHERE rolname = current_user',
  );
  const row = r.rows[0];
  return {
    user: row?.user ?? '',
    superuser: row?.superuser ?? false,
    createRole: (row?.superuser ?? false) || (row?.createrole ?? false),
  };
}

/** The names among `names` that exist on the server. */
export async function existingRoles(client: pg.ClientBase, names: string[]): Promise<Set<string>> {
  const r = await client.query<{ rolname: string }>(
    'SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY($1::text[])',
    [names],
  );
  return new Set(r.rows.map((row) => row.rolname));
}

export interface CreatedRoles {
  /** Roles created here (NOLOGIN, no password), in creation order. */
  created: string[];
  /** Memberships granted to the created roles ("member → role"). */
  memberships: string[];
  /** Per created role, the privileged attributes it has in production but not here. */
  withheld: Array<{ role: string; attributes: string[] }>;
}

/**
 * Creates the roles of `roles` missing on the server: NOLOGIN, no password, then their memberships in
 * roles that exist now (created here, already there, or predefined). Existing roles are not touched
 * (not even their memberships). A role another session creates at the same moment counts as existing.
 */
export async function createMissingRoles(client: pg.ClientBase, roles: RoleInfo[]): Promise<CreatedRoles> {
  const wanted = roles.filter((r) => !isPredefinedRole(r.name));
  const present = await existingRoles(
    client,
    wanted.map((r) => r.name),
  );
  const out: CreatedRoles = { created: [], memberships: [], withheld: [] };
  for (const role of wanted) {
    if (present.has(role.name)) continue;
    try {
      await client.query(createRoleSql(role));
    } catch (err) {
      if ((err as { code?: string }).code === '42710') continue; // duplicate_object: created meanwhile
      throw err;
    }
    out.created.push(role.name);
    const withheld = privilegedAttributes(role);
    if (withheld.length) out.withheld.push({ role: role.name, attributes: withheld });
  }
  const parents = [...new Set(wanted.filter((r) => out.created.includes(r.name)).flatMap((r) => r.memberOf))];
  const available = await existingRoles(client, parents);
  for (const role of wanted) {
    if (!out.created.includes(role.name)) continue;
    for (const parent of role.memberOf) {
      if (!available.has(parent)) continue;
      await client.query(`GRANT ${pg.escapeIdentifier(parent)} TO ${pg.escapeIdentifier(role.name)}`);
      out.memberships.push(`${role.name} → ${parent}`);
    }
  }
  return out;
}

/** Drops roles (created by createMissingRoles), newest first; returns the ones that could not be dropped. */
export async function dropRoles(
  client: pg.ClientBase,
  names: string[],
): Promise<Array<{ role: string; error: string }>> {
  const failed: Array<{ role: string; error: string }> = [];
  for (const name of [...names].reverse()) {
    try {
      await client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(name)}`);
    } catch (err) {
      failed.push({ role: name, error: (err as Error).message });
    }
  }
  return failed;
}

/** Owners of the restored database's relations (tables, views, sequences…) outside system and extension schemas. */
const RELATION_OWNERS_SQL = `
SELECT n.nspname AS schema, c.relname AS name, pg_catalog.pg_get_userbyid(c.relowner) AS owner
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
  AND NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2`;

export interface RelationOwner {
  schema: string;
  name: string;
  owner: string;
}

export async function relationOwners(client: pg.ClientBase): Promise<RelationOwner[]> {
  return (await client.query<RelationOwner>(RELATION_OWNERS_SQL)).rows;
}

/**
 * Relations whose owner is not one of the roles the manifest lists: after a restore with owners, every
 * relation belongs to a role of the backup; one owned by another role (the restoring one) lost its owner.
 */
export function unexpectedOwners(owners: RelationOwner[], roles: RoleInfo[]): RelationOwner[] {
  const known = new Set(roles.map((r) => r.name));
  return owners.filter((o) => !known.has(o.owner));
}

/**
 * The roles read inside the backup's snapshot transaction, or undefined (with a warning) when the backup
 * role cannot read them: a savepoint keeps a failed read from aborting the snapshot pg_dump uses.
 */
export async function readRolesOrWarn(
  client: pg.ClientBase,
  warn: (message: string) => void,
): Promise<RoleInfo[] | undefined> {
  await client.query('SAVEPOINT pgdr_roles');
  try {
    const roles = await readRoles(client);
    await client.query('RELEASE SAVEPOINT pgdr_roles');
    return roles;
  } catch (err) {
    await client.query('ROLLBACK TO SAVEPOINT pgdr_roles');
    warn(
      `cannot read the roles the database needs (${(err as Error).message}): the backup goes on without them, and a restore onto a fresh server must create its roles by hand`,
    );
    return undefined;
  }
}

/** `contents` with `roles` set; a manifest without contents gets empty other sections. */
export function withRoles(contents: DatabaseContents | undefined, roles: RoleInfo[] | undefined): DatabaseContents {
  const base: DatabaseContents = contents ?? {
    extensions: [],
    sequences: [],
    largeObjects: { count: 0, checksum: '', algorithm: 'none' },
    objectCounts: {},
  };
  const { roles: _old, ...rest } = base;
  return roles ? { ...rest, roles } : rest;
}
