/** Where temporary files go: the runner's per-job temp directory (emptied after the job), else the system's. */
import os from 'node:os';

export function tempRoot(): string {
  return process.env.RUNNER_TEMP || os.tmpdir();
}
