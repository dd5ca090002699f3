/**
 * The PgClientInstaller port for the actions: runs the core's InstallPlan (runInstallPlan) with
 * @actions/exec, restoring and saving the downloaded .deb files with @actions/cache so later runs skip
 * the download; the core judges restored files against apt's signed index before installing them.
 * Both are loaded only when an install is needed: @actions/cache (with the Azure storage SDK) would
 * otherwise double the bundle every action loads at start, and its memory.
 */
import { baseEnv } from '../core/pipeline/process.js';
import { type InstallPlan, type PgClientInstaller, runInstallPlan } from '../core/postgres/install.js';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

/** Each step with the minimal child environment; its output goes through the logger (no workflow commands). */
async function run(steps: string[][], log: Logger): Promise<void> {
  const exec = await import('@actions/exec');
  for (const [cmd, ...args] of steps) {
    log.info(`$ ${[cmd, ...args].join(' ')}`);
    await exec.exec(cmd as string, args, {
      env: baseEnv() as Record<string, string>,
      silent: true,
      listeners: { stdline: (l) => log.info(l), errline: (l) => log.info(l) },
    });
  }
}

export const actionsPgClientInstaller: PgClientInstaller = {
  async install(plan: InstallPlan, log: Logger): Promise<void> {
    const cache = await import('@actions/cache');
    await runInstallPlan(
      plan,
      {
        run: (steps) => run(steps, log),
        async restore() {
          if (!cache.isFeatureAvailable()) return false;
          try {
            const hit = await cache.restoreCache([plan.cacheDir], plan.cacheKey);
            if (hit) log.info(`${plan.package}: .deb files restored from the cache (${plan.cacheKey})`);
            return hit !== undefined;
          } catch (err) {
            log.warn(`could not restore the ${plan.package} cache: ${describeError(err)}; downloading`);
            return false;
          }
        },
        async save() {
          if (!cache.isFeatureAvailable()) return;
          try {
            await cache.saveCache([plan.cacheDir], plan.cacheKey);
            log.info(`${plan.package}: .deb files cached as ${plan.cacheKey}`);
          } catch (err) {
            // Another job of the same run may have saved it first, or a refused entry still holds the
            // key (entries are immutable): the install itself succeeded.
            log.warn(`could not save the ${plan.package} cache: ${describeError(err)}`);
          }
        },
      },
      log,
    );
  },
};
