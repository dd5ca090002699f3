/**
 * `pgdr list` and `backup: before:<time>` on a real backup: a newer backup (synthetic, authenticated with
 * the same passphrase) is what `latest` picks; `before:` its time picks the real one, which verify restores.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ListedBackup } from '../../src/core/list.js';
import { passphraseSigner } from '../../src/core/manifest-auth.js';
import { synthesizeBackup } from '../../src/core/synth.js';
import { runAction, runCli } from '../harness/action.js';
import { createDatabase, pgUrl, psql } from '../harness/context.js';
import { objectsOf, writeFiles } from '../harness/synthetic-backups.js';

const PASSPHRASE = `list-before ${Date.now()}`;

describe('pgdr list and backup: before:', () => {
  it('lists real, synthetic and unauthenticated backups; before: picks the newest authenticated one before it', async () => {
    const db = createDatabase('listbefore');
    psql(db, 'CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 42);');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-list-'));
    const backup = await runAction('backup', {
      'database-url': pgUrl(db),
      destination: dir,
      name: 'app',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(backup.errors).toEqual([]);
    const realKey = backup.outputs.key as string;
    const realAt = new Date(
      JSON.parse(fs.readFileSync(path.join(dir, backup.outputs['manifest-key'] as string), 'utf8')).createdAt,
    );
    // A newer backup with the same key, and a newer one planted without it.
    const signer = await passphraseSigner(PASSPHRASE);
    const newer = await synthesizeBackup(
      { prefix: '', name: 'app', createdAt: new Date(realAt.getTime() + 3600_000) },
      signer,
    );
    await signer.close();
    const otherSigner = await passphraseSigner('another passphrase entirely');
    const planted = await synthesizeBackup(
      { prefix: '', name: 'app', createdAt: new Date(realAt.getTime() + 7200_000), synthetic: false },
      otherSigner,
    );
    await otherSigner.close();
    writeFiles(dir, objectsOf([newer, planted]));

    const list = await runCli(['list', '--destination', dir, '--name', 'app', '--json'], {
      PGDR_ENCRYPTION_PASSPHRASE: PASSPHRASE,
    });
    expect(list.status).toBe(0);
    const rows = JSON.parse(list.stdout) as ListedBackup[];
    expect(rows.map((r) => [r.key, r.authenticated, r.synthetic])).toEqual([
      [planted.dataKey, false, false],
      [newer.dataKey, true, true],
      [realKey, true, false],
    ]);
    const real = rows[2] as ListedBackup;
    expect(real).toMatchObject({ rows: 42, format: 'plain', compression: 'gzip', encryption: 'openpgp-passphrase' });
    expect(real.size).toBe(Number(backup.outputs.size));
    expect(real.keyId).toMatch(/\S/);
    expect(real.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(Object.keys(real).sort()).toEqual(
      [
        'ageSeconds',
        'authenticated',
        'compression',
        'createdAt',
        'encryption',
        'format',
        'key',
        'keyId',
        'rows',
        'size',
        'synthetic',
      ].sort(),
    );
    expect(list.stderr).toContain('1 manifest(s) did not authenticate');

    const text = await runCli(['list', '--destination', dir], { PGDR_ENCRYPTION_PASSPHRASE: PASSPHRASE });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(
      /time\s+age\s+size\s+rows\s+format\s+compression\s+encryption\s+key id\s+authenticated\s+synthetic/,
    );
    expect(text.stdout).toContain(realKey);

    const verify = (selector: string) =>
      runAction('verify', {
        destination: dir,
        name: 'app',
        backup: selector,
        'database-url': pgUrl('postgres'),
        'encryption-passphrase': PASSPHRASE,
      });
    const latest = await verify('latest');
    expect(latest.status).not.toBe(0);
    expect(latest.errors.join('\n')).toContain('synthetic');
    const before = await verify(`before:${newer.createdAt.toISOString().replace('.000Z', 'Z')}`);
    expect(before.errors).toEqual([]);
    expect(before.outputs.result).toBe('passed');
    expect(before.outputs['backup-key']).toBe(realKey);
  });
});
