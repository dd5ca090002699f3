/**
 * Keeps the memory of a long streaming run flat. Every chunk that flows through a pipeline is a Buffer whose
 * memory lives outside the V8 heap; V8 only collects the dead ones once about 64 MB of them have piled up,
 * because the heap itself stays small. Measured on a 563 MB dump: peak RSS 168 MB without this, 126 MB with
 * a young-generation collection every 50 ms and a full one every 2 s, for ~5 % more wall time (bench/).
 * Since the bundle loads the AWS SDK and @actions/core only when needed, the heap is ~13 MB and V8 itself
 * collects far less often (33 instead of 181 full collections in a 1 GB backup): a full collection every
 * 2 s let the peak reach ~155 MB; every 100 ms (2–5 ms each on that heap) it stays at ~115–120 MB
 * for the same wall time (1 GB plain dump, gzip or none, encrypted, 2 cores).
 * Also, the young generation is kept at its starting size (--semi-space-growth-factor=1): after a
 * restore has streamed a GB through the process, V8 had grown it to tens of MB, and reading every table
 * back (per-row hashing: small objects at a high rate) then made those pages resident — verify's peak
 * went from ~105 to 130–150 MB; with the flag it stays at 108–118 MB, same wall time (bench/).
 * Set PGDR_GC=off to leave collection and sizing to V8.
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
