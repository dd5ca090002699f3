/**
 * One owner for a use case's clean-up: each resource is registered as it is acquired, and the stack
 * releases them all, last acquired first, whatever happened; a failing clean-up does not stop the others.
 *
 * Our own rather than Node's AsyncDisposableStack with `await using`: pgdr also runs as a CLI on Node 20,
 * which has no AsyncDisposableStack (and Node < 20.4 no Symbol.asyncDispose), and `await using` would
 * depend on how each toolchain (ncc's TypeScript, vitest's transform) lowers it. `DisposerStack.run` is
 * the `await using` block.
 */
import { describeError } from './errors.js';

type Disposer = () => Promise<void> | void;

export class DisposerStack {
  private readonly disposers: Disposer[] = [];

  /**
   * Runs `body` with a fresh stack, then disposes it. When `body` fails its error stands (the clean-ups
   * that can fail log their own failures); when it succeeds a clean-up failure fails the call.
   */
  static async run<T>(body: (stack: DisposerStack) => Promise<T>): Promise<T> {
    const stack = new DisposerStack();
    let result: T;
    try {
      result = await body(stack);
    } catch (err) {
      await stack.dispose().catch(() => {});
      throw err;
    }
    await stack.dispose();
    return result;
  }

  /** Registers `dispose(value)`; returns `value`, so acquiring and registering read as one step. */
  use<T>(value: T, dispose: (value: T) => Promise<void> | void): T {
    this.disposers.push(() => dispose(value));
    return value;
  }

  /** Registers a clean-up step that holds no value. */
  defer(dispose: Disposer): void {
    this.disposers.push(dispose);
  }

  /** Runs every registered clean-up once, last first; after all have run, throws the first failure. */
  async dispose(): Promise<void> {
    const errors: unknown[] = [];
    for (let d = this.disposers.pop(); d; d = this.disposers.pop()) {
      try {
        await d();
      } catch (err) {
        errors.push(err);
      }
    }
    const [first, ...rest] = errors;
    if (errors.length === 0) return;
    if (rest.length === 0) throw first;
    throw new Error(`clean-up failed: ${errors.map(describeError).join('; ')}`, { cause: first });
  }
}
