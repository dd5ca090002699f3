/**
 * Keeps the memory of a streaming run (backup, verify, restore: the hosts start it for commands marked
 * `streaming`) flat. Each chunk in a pipeline is a Buffer whose memory lives outside the V8 heap, and V8
 * sizes its collections by the heap, which stays small here: left alone, it lets dead chunks pile up
 * for tens of MB before it collects them. So, every 50 ms, this forces a collection: a young-generation
 * one, and every other time a full one (chunks that survived two young collections sit in the old
 * generation until then). It also pins the young generation at its starting size
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
  // Young collections every 50 ms; every other one is a full collection, because chunks that lived
  // through two young ones sit in the old generation until then.
  let tick = 0;
  const timer = setInterval(() => gc(++tick % 2 === 0 ? { type: 'major' } : { type: 'minor' }), 50);
  timer.unref();
  return () => clearInterval(timer);
}
