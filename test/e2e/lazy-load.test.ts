/**
 * What the bundle loads, run as the runner and as pgdr run it: the AWS SDK only for an S3 destination,
 * @actions/core only as an action — so a backup to a local directory starts faster and stays ~50 MB
 * smaller. A module hook (node:module registerHooks, through NODE_OPTIONS) records every module the process
 * loads; the bundle's lazy chunks are ES modules, so each one shows up there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { distDir, runAction, runCli } from '../harness/action.js';
import { createDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { makeKeyPair, type TestKeyPair } from '../harness/gpg-keys.js';
import { createBucket } from '../harness/s3.js';

/** Text that only the AWS S3 client's code holds, and only @actions/core's. */
const SDK_MARK = 'class S3Client extends';
const CORE_MARK = 'ACTIONS_ID_TOKEN_REQUEST_URL';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-lazy-'));
const hook = path.join(dir, 'hook.mjs');
fs.writeFileSync(
  hook,
  `import fs from 'node:fs';
import { registerHooks } from 'node:module';
registerHooks({
  load(url, context, next) {
    fs.appendFileSync(process.env.PGDR_LOADED_LOG, url + '\\n');
    return next(url, context);
  },
});
`,
);

let n = 0;
/** Env that records the modules a run loads, and a function that reads the bundle files it loaded. */
function recorder(): { env: Record<string, string>; loaded: () => string[] } {
  const log = path.join(dir, `loaded-${n++}.txt`);
  return {
    env: { NODE_OPTIONS: `--import=${hook}`, PGDR_LOADED_LOG: log },
    loaded: () =>
      fs
        .readFileSync(log, 'utf8')
        .split('\n')
        .filter((u) => u.startsWith('file:'))
        .map((u) => fileURLToPath(u))
        .filter((f) => f.startsWith(path.join(distDir(), 'main'))),
  };
}

const holding = (files: string[], mark: string): string[] =>
  files.filter((f) => fs.readFileSync(f, 'utf8').includes(mark));

describe('lazy loading of the bundle (dist/main)', () => {
  let db: string;
  /** Unencrypted backups must be signed. */
  let signing: TestKeyPair;
  beforeAll(() => {
    signing = makeKeyPair('pgdr lazy-load signing <lazy@example.com>');
    db = createDatabase('lazy');
    psql(db, 'CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100);');
    // The marks must be in the bundle at all, or the assertions below would prove nothing.
    const all = fs.readdirSync(path.join(distDir(), 'main')).filter((f) => f.endsWith('.js'));
    const files = all.map((f) => path.join(distDir(), 'main', f));
    expect(holding(files, SDK_MARK)).toHaveLength(1);
    expect(holding(files, CORE_MARK).length).toBeGreaterThan(0);
    expect(holding([path.join(distDir(), 'main', 'index.js')], SDK_MARK)).toEqual([]);
    expect(holding([path.join(distDir(), 'main', 'index.js')], CORE_MARK)).toEqual([]);
  });

  it('pgdr backup to a directory loads neither the AWS SDK nor @actions/core; to S3 it loads the SDK', async () => {
    const local = recorder();
    const r = await runCli(
      ['backup', '--database-url', pgUrl(db), '--output', path.join(dir, 'out'), '--encryption', 'none'],
      { ...local.env, PGDR_SIGNING_KEY: signing.privateKey },
    );
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(local.loaded().length).toBeGreaterThan(0);
    expect(holding(local.loaded(), SDK_MARK)).toEqual([]);
    expect(holding(local.loaded(), CORE_MARK)).toEqual([]);

    const s3 = recorder();
    const bucket = await createBucket(s3Endpoint());
    const r2 = await runCli(
      [
        'backup',
        '--database-url',
        pgUrl(db),
        '--destination',
        `s3://${bucket}/b`,
        '--s3-endpoint',
        s3Endpoint(),
        '--encryption',
        'none',
      ],
      { ...s3.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', PGDR_SIGNING_KEY: signing.privateKey },
    );
    expect(r2.status).toBe(0);
    expect(holding(s3.loaded(), SDK_MARK)).toHaveLength(1);
    expect(holding(s3.loaded(), CORE_MARK)).toEqual([]);
  });

  it('the backup action loads @actions/core, and no SDK for a directory', async () => {
    const local = recorder();
    const run = await runAction(
      'backup',
      {
        'database-url': pgUrl(db),
        destination: path.join(dir, 'action-out'),
        encryption: 'none',
        'signing-key': signing.privateKey,
      },
      { env: local.env },
    );
    expect(run.errors).toEqual([]);
    expect(run.status).toBe(0);
    expect(holding(local.loaded(), CORE_MARK).length).toBeGreaterThan(0);
    expect(holding(local.loaded(), SDK_MARK)).toEqual([]);
  });
});
