/**
 * Marks every error a storage call rejects with as a storage failure (core/failure.ts), so an action's
 * `failure-kind` says `storage` whatever the backend's message looks like. The storage is otherwise
 * untouched (a Proxy: same object, same prototype). An upload that fails because its body failed (pg_dump,
 * gpg) is the body's failure, not the storage's: that error is left unmarked.
 */
import type { Readable } from 'node:stream';
import { isAbortError } from '../../util/errors.js';
import { markStorageError } from '../failure.js';
import type { Storage } from './types.js';

export function withStorageFailures(storage: Storage): Storage {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const body = prop === 'write' ? (args[1] as Readable | undefined) : undefined;
        const bodyErrors = new Set<unknown>();
        body?.once?.('error', (e: unknown) => bodyErrors.add(e));
        let result: unknown;
        try {
          result = value.apply(target, args);
        } catch (err) {
          markStorageError(err);
          throw err;
        }
        if (!(result instanceof Promise)) return result;
        return result.catch((err: unknown) => {
          // An AbortError is the echo of another stage's failure (or a cancel), not the storage's.
          if (!bodyErrors.has(err) && body?.errored !== err && !isAbortError(err)) markStorageError(err);
          throw err;
        });
      };
    },
  });
}
