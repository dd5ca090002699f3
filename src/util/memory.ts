/**
 * Keeps the memory of a streaming run (backup, verify, restore: the hosts start it for commands marked
 * `streaming`) flat. Each chunk in a pipeline is a Buffer whose memory lives outside the V8 heap, and V8
 * sizes its collections by the heap, which stays small here: left alone, it lets dead chunks pile up
 * for tens of MB before it collects them. So this watches the memory itself (every 20 ms, a cheap
 * read of the counters) and collects when it has grown by STEP since the last collection: first a
 * young-generation collection, then, if that did not bring it back (chunks that lived through two young
 * collections sit in the old generation), a full one. Collections follow what was allocated, not the
 * clock: a slow run (a busy machine) pays no more of them than a fast one. (Collecting on a timer — a
 * full collection every 100 ms — took 3–4 s of CPU per GB dumped on a busy 2-core machine.) It also
 * pins the young generation at its starting size (--semi-space-growth-factor=1): once a GB has streamed
 * through, V8 would have grown it to tens of MB, and a burst of small objects afterwards (verify hashing
 * every row) would make those pages resident. bench/ measures the effect (peak RSS, CPU and wall time).
 * PGDR_GC=off leaves collection and sizing to V8.
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

/** Growth of buffer plus heap memory since the last collection that triggers the next one. */
const STEP = 8 * 1024 * 1024;
const CHECK_MS = 20;

/** Buffer memory (outside the heap) plus the heap in use: what dead chunks and rows inflate. */
function inUse(): number {
  const m = process.memoryUsage();
  return m.arrayBuffers + m.heapUsed;
}

/**
 * One watch step: collects when memory grew by `step` since `base` (the level after the last collection);
 * returns the new base. Exported for tests.
 */
export function collectIfGrown(gc: GcFunction, base: number, measure: () => number = inUse, step = STEP): number {
  const now = measure();
  if (now < base + step) return Math.min(base, now);
  gc({ type: 'minor' });
  const afterMinor = measure();
  if (afterMinor < base + step) return afterMinor;
  gc({ type: 'major' });
  // What is still in use is live (chunks in flight, a block being compressed): the next step counts from here.
  return measure();
}

/** Starts watching; returns a function that stops it. */
export function startMemoryGovernor(env: NodeJS.ProcessEnv = process.env): () => void {
  if ((env.PGDR_GC ?? '').toLowerCase() === 'off') return () => {};
  const gc = exposedGc();
  if (!gc) return () => {};
  try {
    v8.setFlagsFromString('--semi-space-growth-factor=1');
  } catch {
    // an unknown flag in another V8: the collections below still bound the memory
  }
  let base = inUse();
  const timer = setInterval(() => {
    base = collectIfGrown(gc, base);
  }, CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
