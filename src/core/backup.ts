/**
 * The backup use case: check that the storage (and the replica) can be reached, dump and store the
 * database (backups/dump.ts), then copy the finished backup to the replica. One DisposerStack owns every
 * clean-up; the lock it holds covers the replica copy too.
 */
import { DisposerStack } from '../util/disposer.js';
import type { Logger } from '../util/log.js';
import { type DumpConfig, type DumpDeps, dumpAndStore } from './backups/dump.js';
import { ReplicaError, type ReplicaResult, type ReplicaTarget, replicateBackup } from './backups/replicate.js';
import type { Manifest } from './manifest.js';
import type { Storage } from './storage/index.js';

export type BackupConfig = DumpConfig;

export interface BackupDeps extends DumpDeps {
  /** A second destination that receives a verified copy after the primary backup is complete. */
  replica?: ReplicaTarget;
}

export interface BackupResult {
  manifest: Manifest;
  manifestKey: string;
  durationSeconds: number;
  location: string;
  /** The replica's copy, when a replica was configured and the copy succeeded. */
  replica?: ReplicaResult;
  /** Set when the primary backup is complete but its copy to the replica failed: the run must fail. */
  replicaError?: ReplicaError;
}

async function preflight(storage: Storage, replica: ReplicaTarget | undefined, log: Logger): Promise<void> {
  await log.group('Preflight', async () => {
    await storage.probe();
    log.info(`storage: ${storage.location} is reachable`);
    if (replica) {
      await replica.storage.probe();
      log.info(`replica: ${replica.storage.location} is reachable`);
    }
  });
}

export async function runBackup(cfg: BackupConfig, deps: BackupDeps): Promise<BackupResult> {
  const { storage, log } = deps;
  const started = Date.now();
  if (deps.progress) deps.progress.stage = 'preflight';
  await preflight(storage, deps.replica, log);
  return DisposerStack.run(async (stack) => {
    const stored = await dumpAndStore(cfg, deps, stack);
    const result: BackupResult = {
      manifest: stored.manifest,
      manifestKey: stored.manifestKey,
      durationSeconds: (Date.now() - started) / 1000,
      location: stored.location,
    };
    const target = deps.replica;
    if (deps.progress) deps.progress.stage = target ? 'replica' : 'done';
    if (!target) return result;
    try {
      result.replica = await log.group(`Replica: ${target.storage.location}`, () =>
        replicateBackup({
          source: storage,
          manifest: stored.manifest,
          target,
          retainUntil: stored.retainUntil,
          signer: stored.signer,
          log,
          signal: deps.signal,
        }),
      );
    } catch (err) {
      if (!(err instanceof ReplicaError) || deps.signal?.aborted) throw err;
      log.warn(err.message);
      result.replicaError = err;
    }
    result.durationSeconds = (Date.now() - started) / 1000;
    if (deps.progress) deps.progress.stage = 'done';
    return result;
  });
}
