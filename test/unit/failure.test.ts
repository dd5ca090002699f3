/** The `error` and `failure-kind` outputs: the root cause in one line, and a kind from the action's closed set. */
import { describe, expect, it } from 'vitest';
import { describeFailure, markStorageError, rootCauseMessage } from '../../src/core/failure.js';
import { ProcessError } from '../../src/core/pipeline/process.js';
import { CancelledError, IntegrityError, UserError } from '../../src/util/errors.js';
import { registerSecret } from '../../src/util/secrets.js';

const BACKUP = [
  'config',
  'connect',
  'permission',
  'lock',
  'dump',
  'storage',
  'integrity',
  'replica',
  'cancelled',
  'other',
];

function sysError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const verboseStderr = [
  'pg_dump: last built-in OID is 16383',
  'pg_dump: reading extensions',
  'pg_dump: error: query failed: ERROR:  permission denied for table secrets',
  'pg_dump: detail: Query was: LOCK TABLE public.secrets IN ACCESS SHARE MODE',
  'pg_dump: dumping contents of table "public.events"',
].join('\n');

function storageError(): Error {
  const e = new Error('cannot reach s3://backups: connect ECONNREFUSED 10.1.2.3:9000', {
    cause: sysError('connect ECONNREFUSED 10.1.2.3:9000', 'ECONNREFUSED'),
  });
  markStorageError(e);
  return e;
}

describe('describeFailure', () => {
  it.each<[string, unknown, string, string]>([
    ['a UserError before any I/O', new UserError("'database-url' is required"), 'config', "'database-url' is required"],
    [
      'an unreachable database',
      new Error('cannot connect to postgres@db.internal:5432/app: connect ECONNREFUSED 10.0.0.5:5432', {
        cause: sysError('connect ECONNREFUSED 10.0.0.5:5432', 'ECONNREFUSED'),
      }),
      'connect',
      'cannot connect to postgres@db.internal:5432/app: connect ECONNREFUSED 10.0.0.5:5432',
    ],
    [
      "pg_dump's error among its verbose progress",
      new ProcessError(
        `pg_dump exited with status 1: ${verboseStderr.split('\n').slice(-5).join('\n')}`,
        1,
        null,
        verboseStderr,
      ),
      'permission',
      'pg_dump: error: query failed: ERROR: permission denied for table secrets',
    ],
    ['a storage error', storageError(), 'storage', 'cannot reach s3://backups: connect ECONNREFUSED 10.1.2.3:9000'],
    ['a cancel', new CancelledError('cancelled by SIGTERM'), 'cancelled', 'cancelled by SIGTERM'],
    [
      'a read-back mismatch',
      new IntegrityError('read-back of k does not match what was sent', 'checksum'),
      'integrity',
      'read-back of k does not match what was sent',
    ],
    ['something unknown', new TypeError('x is not a function'), 'other', 'x is not a function'],
  ])('%s', (_what, err, kind, error) => {
    expect(describeFailure(err, BACKUP)).toEqual({ error, 'failure-kind': kind });
  });

  it("a command's own rule wins over the shared ones, but not over a cancel", () => {
    const own = () => 'lock';
    expect(describeFailure(new Error('held'), BACKUP, own)['failure-kind']).toBe('lock');
    expect(describeFailure(new CancelledError('x'), BACKUP, own)['failure-kind']).toBe('cancelled');
    // A kind the command does not declare falls through to the shared rules.
    expect(describeFailure(new UserError('x'), BACKUP, () => 'nope')['failure-kind']).toBe('config');
  });

  it('is one line, without secrets, and bounded', () => {
    registerSecret('hunter2-very-secret');
    const msg = rootCauseMessage(new Error(`bad\npassword hunter2-very-secret ${'x'.repeat(2000)}`));
    expect(msg).not.toContain('\n');
    expect(msg).not.toContain('hunter2-very-secret');
    expect(msg.length).toBeLessThanOrEqual(500);
  });

  it('names every address of an AggregateError (IPv4 and IPv6 refused)', () => {
    const agg = new AggregateError(
      [
        sysError('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED'),
        sysError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      ],
      '',
    );
    const f = describeFailure(agg, BACKUP);
    expect(f).toEqual({
      error: 'connect ECONNREFUSED ::1:5432: connect ECONNREFUSED 127.0.0.1:5432',
      'failure-kind': 'connect',
    });
  });
});
