/**
 * A read-only REPEATABLE READ transaction that exports its snapshot: pg_dump runs on it (`--snapshot`)
 * while the backup counts and checksums the tables in the same snapshot, so the manifest describes
 * exactly the data in the dump.
 */
import type pg from 'pg';
import { connectClient, type SessionConfig } from './session.js';
import { CANONICAL_SETTINGS } from './stats.js';

export interface ServerInfo {
  version: string;
  versionNum: number;
  major: number;
  database: string;
  sizeBytes: number;
}

export async function serverInfo(client: pg.ClientBase): Promise<ServerInfo> {
  const r = await client.query<{ v: string; n: string; db: string; size: string }>(
    "SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n, current_database() AS db, pg_database_size(current_database())::text AS size",
  );
  const row = r.rows[0] as { v: string; n: string; db: string; size: string };
  const num = Number(row.n);
  return {
    version: row.v.split(' ')[0] as string,
    versionNum: num,
    major: Math.floor(num / 10000),
    database: row.db,
    sizeBytes: Number(row.size),
  };
}

/** A read-only snapshot session whose snapshot pg_dump can share. */
export class SnapshotSession {
  private constructor(
    readonly client: pg.Client,
    readonly snapshotId: string,
    readonly server: ServerInfo,
  ) {}

  static async open(config: SessionConfig): Promise<SnapshotSession> {
    const client = await connectClient(config);
    try {
      await client.query('SET default_transaction_read_only = on');
      for (const s of CANONICAL_SETTINGS) await client.query(s);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const server = await serverInfo(client);
      const r = await client.query<{ id: string }>('SELECT pg_catalog.pg_export_snapshot() AS id');
      return new SnapshotSession(client, (r.rows[0] as { id: string }).id, server);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.client.query('ROLLBACK').catch(() => {});
    await this.client.end().catch(() => {});
  }
}
