/** Vitest global setup: one PostgreSQL and one S3 API server for the whole run, torn down afterwards. */
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.js';
import { startS3 } from './s3.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pg: { host: string; port: number; binDir: string; dataDir: string };
    s3: { endpoint: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [pg, s3] = await Promise.all([startPostgres(), startS3()]);
  project.provide('pg', { host: pg.host, port: pg.port, binDir: pg.binDir, dataDir: pg.dataDir });
  project.provide('s3', { endpoint: s3.endpoint });
  return async () => {
    pg.stop();
    await s3.stop();
  };
}
