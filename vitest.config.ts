import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure tests: no servers, no build; the inner loop) and `system` (PostgreSQL, an S3
// API server and a fresh build of src/, all started by the system project's global setup).
export default defineConfig({
  test: {
    pool: 'forks',
    // Vitest's default (cores - 1) is one worker on two cores; the system tests mostly wait on child
    // processes and servers, so two files at a time roughly halve the run's wall time there.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // @actions/workflow-parser imports JSON without import attributes; inlined, Vite handles the JSON.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    env: {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      // The actions' node24 runtime prints no SDK Node-version warnings; keep test output alike on Node 20.
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    },
    projects: [
      {
        extends: true,
        // PBKDF2 (600 000 rounds, as the product uses) takes a second or more on a loaded 2-core machine.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 },
      },
      {
        extends: true,
        test: {
          name: 'system',
          include: ['test/{integration,e2e,faults}/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
