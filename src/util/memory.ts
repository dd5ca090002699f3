/**
 * Keeps the memory of a streaming run (backup, verify, restore: the hosts start it for commands marked
 * `streaming`) flat. Each chunk in a pipeline is a Buffer whose memory lives outside the V8 heap, and V8
 * sizes its collections by the heap, which stays small here: left alone, it lets dead chunks pile up
 * for tens of MB before it collects them. So this forces a collection once 16 MiB of buffers have piled
 * up over those alive after the last full collection (checked every 50 ms): a young-generation one, and
 * a full one when that was not enough (chunks that survived two young collections sit in the old
 * generation until then); and a full one once a second. It also pins the young generation at its starting size
 * (--semi-space-growth-factor=1): once a GB has streamed through, V8 would have grown it to tens of MB,
 * and a burst of small objects afterwards (verify hashing every row) would make those pages resident.
 * bench/ measures the effect (peak RSS, wall time). PGDR_GC=off leaves collection and sizing to V8.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

type GcFunction = (options?: { type?: 'minor' | 'major' }) => void;

let gcFn: GcFunction | null | undefined;

function exposedGc(): GcFunction | null {
  if (gcFn !== undefined) return gcFn;
  try {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as GcFunction;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** Buffers allocated since the last collection before one is forced (measured: bench/, peak RSS). */
const BUDGET = 16 * 2 ** 20;

const arrayBuffers = (): number => process.memoryUsage().arrayBuffers;

/** Starts periodic collection; returns a function that stops it. */
export function startMemoryGovernor(env: NodeJS.ProcessEnv = process.env): () => void {
  if ((env.PGDR_GC ?? '').toLowerCase() === 'off') return () => {};
  const gc = exposedGc();
  if (!gc) return () => {};
  try {
    v8.setFlagsFromString('--semi-space-growth-factor=1');
  } catch {
    // an unknown flag in another V8: the periodic collections below still bound the memory
  }
  // Every 50 ms, but only once BUDGET bytes of buffers have piled up over those alive after the last
  // full collection (process.memoryUsage().arrayBuffers counts them, dead or alive): a young collection,
  // then a full one if that left half the budget (chunks that lived through two young collections sit
  // in the old generation until a full one). The baseline moves only after a full collection, so
  // promoted garbage cannot raise it run after run. Collecting on a fixed beat instead (every 50 ms,
  // full every other time) cost as much CPU as the rest of the process on a 2-core runner.
  let floor = arrayBuffers();
  let tick = 0;
  const timer = setInterval(() => {
    // And a full collection once a second, so nothing that survived young collections outlives a second
    // whatever the budget says (cheap: the heap itself stays small).
    if (++tick % 20 === 0) {
      gc({ type: 'major' });
      floor = arrayBuffers();
      return;
    }
    if (arrayBuffers() - floor < BUDGET) return;
    gc({ type: 'minor' });
    if (arrayBuffers() - floor >= BUDGET / 2) {
      gc({ type: 'major' });
      floor = arrayBuffers();
    }
  }, 50);
  timer.unref();
  return () => clearInterval(timer);
}
