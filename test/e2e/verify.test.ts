/**
 * The bundled verify action (and pgdr verify) against backups made by the bundled backup action, on
 * the run's S3 server and on a local directory: good backups pass; each kind of damage fails with its
 * own message; the scratch database is gone afterwards in every case.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, parseManifest, serializeManifest, type TableStats } from '../../src/core/manifest.js';
import { openpgpSigner, passphraseSigner } from '../../src/core/manifest-auth.js';
import { zstdAvailable } from '../../src/core/pipeline/compress.js';
import { formatBytes } from '../../src/util/units.js';
import { runAction, runCli } from '../harness/action.js';
import { createDatabase, databasesLike, dropDatabase, pgUrl, psql, s3Endpoint } from '../harness/context.js';
import { AWKWARD_SCHEMA_SQL, addLargeTable } from '../harness/fixtures.js';
import { makeKeyPair, type TestKeyPair } from '../harness/gpg-keys.js';
import { createBucket } from '../harness/s3.js';

const PASSPHRASE = `verify pa'ss"word ${Date.now()}`;

function s3Inputs(bucket: string, prefix = 'backups'): Record<string, string> {
  return { destination: `s3://${bucket}/${prefix}`, 's3-endpoint': s3Endpoint(), 's3-force-path-style': 'true' };
}

/** Scratch databases of one set (the set name's '-' become '_'). */
function scratchOf(set: string): string[] {
  return databasesLike(`pgdr_verify_${set.replace(/-/g, '_')}_`);
}

async function backup(inputs: Record<string, string>): Promise<{ key: string; manifestKey: string }> {
  const run = await runAction('backup', inputs);
  expect(run.errors).toEqual([]);
  expect(run.status).toBe(0);
  return { key: run.outputs.key as string, manifestKey: run.outputs['manifest-key'] as string };
}

/** Rewrites a manifest in a local destination and authenticates it again, as the key's holder could. */
async function editManifest(
  dir: string,
  manifestKey: string,
  edit: (m: Manifest) => void,
  sign: (manifest: Buffer) => Promise<string>,
): Promise<void> {
  const f = path.join(dir, manifestKey);
  const m = parseManifest(fs.readFileSync(f));
  edit(m);
  const text = Buffer.from(serializeManifest(m));
  fs.writeFileSync(`${f}.sig`, await sign(text));
  fs.writeFileSync(f, text);
}

/** Signs with a throwaway signer (a passphrase's HMAC or an OpenPGP key) and closes it. */
async function signWith(
  open: () => Promise<{ sign(b: Buffer): Promise<string>; close(): Promise<void> }>,
  manifest: Buffer,
): Promise<string> {
  const signer = await open();
  try {
    return await signer.sign(manifest);
  } finally {
    await signer.close();
  }
}

function copyDir(from: string): string {
  const to = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-case-'));
  fs.cpSync(from, to, { recursive: true });
  return to;
}

describe('verify action (bundled, as the runner runs it)', () => {
  let source: string;
  let keyWithPassphrase: TestKeyPair;
  let keyWithout: TestKeyPair;
  let otherKey: TestKeyPair;
  /** Signs the manifests of the backups encrypted to a public key (and of 'vsigned'). */
  let signing: TestKeyPair;
  /** A local directory holding one plain, passphrase-encrypted backup of set 'vlocal'. */
  let localDir: string;
  let localBackup: { key: string; manifestKey: string };
  /** Like vlocal, but its manifest is signed with `signing` (set 'vsigned'), so a wrong passphrase still finds it. */
  let signedDir: string;
  let signedBackup: { key: string; manifestKey: string };

  beforeAll(async () => {
    source = createDatabase('vsrc');
    psql(source, AWKWARD_SCHEMA_SQL);
    addLargeTable(source, 4);
    keyWithPassphrase = makeKeyPair('pgdr verify test <with@example.com>', 'key pass phrase');
    keyWithout = makeKeyPair('pgdr verify test <without@example.com>');
    otherKey = makeKeyPair('someone else <other@example.com>');
    signing = makeKeyPair('pgdr verify signing <signing@example.com>');
    localDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-vlocal-'));
    localBackup = await backup({
      'database-url': pgUrl(source),
      destination: localDir,
      name: 'vlocal',
      'encryption-passphrase': PASSPHRASE,
    });
    signedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-vsigned-'));
    signedBackup = await backup({
      'database-url': pgUrl(source),
      destination: signedDir,
      name: 'vsigned',
      'encryption-passphrase': PASSPHRASE,
      'signing-key': signing.privateKey,
    });
  });

  it('passes for a plain, passphrase-encrypted backup in S3 and reports RPO, RTO and every table', async () => {
    const bucket = await createBucket(s3Endpoint());
    const b = await backup({
      'database-url': pgUrl(source),
      ...s3Inputs(bucket),
      name: 'vplain',
      'encryption-passphrase': PASSPHRASE,
    });
    const run = await runAction('verify', {
      ...s3Inputs(bucket),
      name: 'vplain',
      backup: 'latest',
      'database-url': pgUrl('postgres'),
      'encryption-passphrase': PASSPHRASE,
    });
    expect(run.errors).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.outputs.result).toBe('passed');
    expect(run.outputs['backup-key']).toBe(b.key);
    expect(run.outputs.mismatches).toBe('0');
    expect(run.outputs.tables).toBe(
      psql(source, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"),
    );
    const orders = Number(psql(source, 'SELECT count(*) FROM sales.orders'));
    expect(Number(run.outputs.rows)).toBeGreaterThan(orders);
    expect(Number(run.outputs['backup-age-seconds'])).toBeGreaterThanOrEqual(0);
    expect(run.outputs['restore-seconds']).toMatch(/^\d+(\.\d)?$/);
    // The RTO split into its parts: loading the backup, then reading every table back.
    const total = Number(run.outputs['restore-seconds']);
    const load = Number(run.outputs['load-seconds']);
    const validate = Number(run.outputs['validate-seconds']);
    expect(run.outputs['load-seconds']).toMatch(/^\d+(\.\d)?$/);
    expect(run.outputs['validate-seconds']).toMatch(/^\d+(\.\d)?$/);
    expect(load).toBeGreaterThan(0);
    expect(load + validate).toBeLessThanOrEqual(total + 0.1); // each rounded to 0.1 s
    // The summary as GitHub shows it (the report's backslash escapes resolved).
    const summary = run.summary.replace(/\\(.)/g, '$1');
    expect(summary).toMatch(/RTO \(download \+ restore \+ validate\) \| ✅ .*: restore .*, validation /);
    // Verdict first, then RPO and RTO, then one row per table.
    expect(summary.indexOf('passed')).toBeLessThan(summary.indexOf('RPO'));
    expect(summary.indexOf('RPO')).toBeLessThan(summary.indexOf('RTO'));
    expect(summary).toMatch(/\| sales\.orders \| 20,000 \| 20,000 \| ok \| ✅ \|/);
    expect(summary).toContain('Weird Schema.Mixed Case "Table"');
    expect(scratchOf('vplain')).toEqual([]);
    expect(run.visible + run.stderr + run.summary).not.toContain(PASSPHRASE);
  });

  it('passes for a custom-format backup encrypted to a public key (private key with a passphrase), jobs 2 and 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-vcustom-'));
    const b = await backup({
      'database-url': pgUrl(source),
      destination: dir,
      name: 'vcustom',
      format: 'custom',
      'encryption-public-key': keyWithPassphrase.publicKey,
      'signing-key': signing.privateKey,
    });
    for (const jobs of ['2', '1']) {
      const run = await runAction('verify', {
        destination: dir,
        backup: b.manifestKey,
        'database-url': pgUrl('postgres'),
        'encryption-private-key': keyWithPassphrase.privateKey,
        'encryption-private-key-passphrase': keyWithPassphrase.passphrase as string,
        'signing-public-key': signing.publicKey,
        jobs,
      });
      expect(run.errors).toEqual([]);
      expect(run.outputs.result).toBe('passed');
      expect(run.outputs['backup-key']).toBe(b.key);
      if (jobs === '2') {
        expect(run.visible).toMatch(/staging the decrypted archive/);
        // The disk it took, and where, in the summary (checked against the free space first).
        expect(run.summary.replaceAll('\\', '')).toMatch(
          /Temporary disk \| [\d.]+ (KiB|MiB): the decrypted archive, staged in \/\S+ for pg_restore -j \([\d.]+ \w+ were free\)/,
        );
      } else {
        expect(run.visible).not.toMatch(/staging the decrypted archive/);
        expect(run.summary).not.toContain('Temporary disk');
      }
      expect(scratchOf('vcustom')).toEqual([]);
    }
  });

  it('pgdr verify passes for a backup in S3 encrypted to a key without passphrase, and for a local --backup-file', async () => {
    const bucket = await createBucket(s3Endpoint());
    await backup({
      'database-url': pgUrl(source),
      ...s3Inputs(bucket),
      name: 'vkey',
      'encryption-public-key': keyWithout.publicKey,
      'signing-key': signing.privateKey,
    });
    const env = {
      PGDR_ENCRYPTION_PRIVATE_KEY: keyWithout.privateKey,
      PGDR_SIGNING_PUBLIC_KEY: signing.publicKey,
      PGDR_S3_ENDPOINT: s3Endpoint(),
    };
    const r = await runCli(
      ['verify', '--destination', `s3://${bucket}/backups`, '--database-url', pgUrl('postgres'), '--json'],
      env,
    );
    expect(r.stderr).not.toContain('PRIVATE KEY');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe('passed');

    const file = path.join(localDir, localBackup.key);
    const f = await runCli(['verify', '--backup-file', file, '--database-url', pgUrl('postgres')], {
      PGDR_ENCRYPTION_PASSPHRASE: PASSPHRASE,
    });
    expect(f.status).toBe(0);
    expect(f.stdout).toMatch(/Restore test passed: vlocal/);
    expect(scratchOf('vkey')).toEqual([]);
    expect(scratchOf('vlocal')).toEqual([]);
  });

  it.skipIf(!zstdAvailable)('passes for a plain zstd backup (Node 22.15+)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-vzstd-'));
    await backup({
      'database-url': pgUrl(source),
      destination: dir,
      name: 'vzstd',
      compression: 'zstd',
      'encryption-passphrase': PASSPHRASE,
    });
    const run = await runAction('verify', {
      destination: dir,
      'database-url': pgUrl('postgres'),
      'encryption-passphrase': PASSPHRASE,
    });
    expect(run.errors).toEqual([]);
    expect(run.outputs.result).toBe('passed');
    expect(run.outputs['backup-key']).toMatch(/\.sql\.zst\.gpg$/);
    expect(scratchOf('vzstd')).toEqual([]);
  });

  const hmac = (manifest: Buffer): Promise<string> => signWith(() => passphraseSigner(PASSPHRASE), manifest);
  const openpgp = (manifest: Buffer): Promise<string> =>
    signWith(() => openpgpSigner(signing.privateKey, undefined), manifest);
  const damage: Array<{
    title: string;
    harm: (dir: string, b: { key: string; manifestKey: string }) => void | Promise<void>;
    inputs?: (b: { key: string; manifestKey: string }) => Record<string, string>;
    /** Use set 'vsigned' (manifest signed with `signing`, checked with its public key) instead of 'vlocal'. */
    signed?: boolean;
    message: RegExp;
    kind: string;
  }> = [
    {
      title: 'one flipped byte in the middle',
      harm: (dir, b) => {
        const f = path.join(dir, b.key);
        const buf = fs.readFileSync(f);
        const i = Math.floor(buf.length / 2);
        buf[i] = (buf[i] as number) ^ 0x01;
        fs.writeFileSync(f, buf);
      },
      message: /checksum mismatch: .* is corrupted/,
      kind: 'checksum',
    },
    {
      title: 'a truncated object (named by key)',
      harm: (dir, b) =>
        fs.truncateSync(path.join(dir, b.key), Math.floor(fs.statSync(path.join(dir, b.key)).size * 0.7)),
      inputs: (b) => ({ backup: b.key }),
      message: /truncated: .* holds \d+ bytes, its manifest says \d+/,
      kind: 'truncated',
    },
    {
      title: 'a wrong passphrase (manifest signed with a signing key)',
      harm: () => {},
      signed: true,
      inputs: () => ({ 'encryption-passphrase': 'not the right passphrase' }),
      message: /wrong key: 'encryption-passphrase' is not the passphrase this backup was encrypted with/,
      kind: 'wrong-key',
    },
    {
      title: 'a wrong passphrase that only gpg can tell (no digest in the manifest)',
      harm: (dir, b) =>
        editManifest(
          dir,
          b.manifestKey,
          (m) => {
            m.encryption.keyFingerprint = null;
          },
          openpgp,
        ),
      signed: true,
      inputs: () => ({ 'encryption-passphrase': 'not the right passphrase' }),
      message: /wrong key: the passphrase does not decrypt this backup/,
      kind: 'wrong-key',
    },
    {
      title: 'a wrong passphrase where the passphrase authenticates the manifest',
      harm: () => {},
      inputs: () => ({ 'encryption-passphrase': 'not the right passphrase' }),
      message:
        /no authenticated backup in .*: 1 manifest\(s\) did not authenticate, the newest .*vlocal.*\.manifest\.json because its authenticator does not match \(edited, or made with another passphrase\).*Check the keys given/,
      kind: 'unauthenticated',
    },
    {
      title: 'a manifest edited by someone without the key (row count raised, .sig left as it was)',
      harm: (dir, b) => {
        const f = path.join(dir, b.manifestKey);
        const m = JSON.parse(fs.readFileSync(f, 'utf8'));
        m.tables.find((x: { name: string }) => x.name === 'orders').rows += 1;
        fs.writeFileSync(f, JSON.stringify(m));
      },
      inputs: (b) => ({ backup: b.key }),
      message: /not authenticated: .*\.manifest\.json its authenticator does not match .*it is not restored/,
      kind: 'unauthenticated',
    },
    {
      title: 'a missing manifest',
      harm: (dir, b) => fs.rmSync(path.join(dir, b.manifestKey)),
      inputs: (b) => ({ backup: b.key }),
      message: /missing manifest: .* has no .*\.manifest\.json beside it/,
      kind: 'missing-manifest',
    },
    {
      title: 'a table whose row count differs from the manifest',
      harm: (dir, b) =>
        editManifest(
          dir,
          b.manifestKey,
          (m) => {
            (m.tables.find((x) => x.name === 'orders') as TableStats).rows += 1;
          },
          hmac,
        ),
      message: /1 of \d+ tables do not match the manifest: sales\.orders \(20000 rows, expected 20001\)/,
      kind: 'table-mismatch',
    },
    {
      title: 'a table whose contents differ from the manifest, and one it does not list',
      harm: (dir, b) =>
        editManifest(
          dir,
          b.manifestKey,
          (m) => {
            (m.tables.find((x) => x.name === 'people') as TableStats).checksum = '12345';
            m.tables = m.tables.filter((x) => x.name !== 'empty_table');
          },
          hmac,
        ),
      message:
        /2 of \d+ tables do not match the manifest: .*public\.people \(same row count, different contents \(checksum\)\).*public\.empty_table \(not in the manifest\)/,
      kind: 'table-mismatch',
    },
  ];

  it.each(damage)('fails on $title with its own message, dropping the scratch database', async (c) => {
    const [set, original, b] = c.signed ? ['vsigned', signedDir, signedBackup] : ['vlocal', localDir, localBackup];
    const dir = copyDir(original);
    await c.harm(dir, b);
    const run = await runAction('verify', {
      destination: dir,
      name: set,
      'database-url': pgUrl('postgres'),
      'encryption-passphrase': PASSPHRASE,
      ...(c.signed ? { 'signing-public-key': signing.publicKey } : {}),
      ...c.inputs?.(b),
    });
    expect(run.status).not.toBe(0);
    expect(run.outputs.result).toBe('failed');
    expect(run.outputs['failure-kind']).toBe(c.kind);
    expect(run.errors.join('\n')).toMatch(c.message);
    expect(run.summary).toMatch(/Restore test failed/);
    expect(run.summary).toMatch(c.message);
    if (c.kind === 'table-mismatch') {
      expect(Number(run.outputs.mismatches)).toBeGreaterThan(0);
      expect(JSON.parse(run.outputs['mismatch-details'] as string).length).toBe(Number(run.outputs.mismatches));
    }
    expect(scratchOf(set)).toEqual([]);
  });

  it('skips a newer backup whose .sig is gone for latest, and uses it by key only with allow-unauthenticated', async () => {
    const dir = copyDir(localDir);
    await new Promise((r) => setTimeout(r, 1100)); // keys have second precision
    const newer = await backup({
      'database-url': pgUrl(source),
      destination: dir,
      name: 'vlocal',
      'encryption-passphrase': PASSPHRASE,
    });
    expect(newer.key > localBackup.key).toBe(true);
    fs.rmSync(path.join(dir, `${newer.manifestKey}.sig`));
    const common = { destination: dir, 'database-url': pgUrl('postgres'), 'encryption-passphrase': PASSPHRASE };

    // latest: the older, genuine backup, saying why the newer one was passed over.
    const latest = await runAction('verify', { ...common, name: 'vlocal' });
    expect(latest.errors).toEqual([]);
    expect(latest.outputs.result).toBe('passed');
    expect(latest.outputs['backup-key']).toBe(localBackup.key);
    const skippedNote = `${newer.manifestKey} (not authenticated: it has no authenticator (.sig)`;
    expect(latest.warnings.join('\n')).toContain(`skipped a newer object that is not a usable backup: ${skippedNote}`);
    expect(latest.summary).toContain(`Skipped a newer object that is not a usable backup: ${skippedNote}`);
    // allow-unauthenticated never applies to latest.
    const latestAllowed = await runAction('verify', { ...common, name: 'vlocal', 'allow-unauthenticated': newer.key });
    expect(latestAllowed.outputs['backup-key']).toBe(localBackup.key);
    expect(latestAllowed.warnings.join('\n')).not.toMatch(/USING AN UNAUTHENTICATED BACKUP/);

    // By key: refused, unless the user names that very key in allow-unauthenticated.
    const byKey = await runAction('verify', { ...common, backup: newer.key });
    expect(byKey.status).not.toBe(0);
    expect(byKey.outputs.result).toBe('failed');
    expect(byKey.outputs['failure-kind']).toBe('unauthenticated');
    expect(byKey.errors.join('\n')).toMatch(
      /not authenticated: .* it has no authenticator \(\.sig\).*name its data key in 'allow-unauthenticated'/,
    );
    const otherKeyAllowed = await runAction('verify', {
      ...common,
      backup: newer.key,
      'allow-unauthenticated': localBackup.key,
    });
    expect(otherKeyAllowed.outputs['failure-kind']).toBe('unauthenticated');
    const allowed = await runAction('verify', { ...common, backup: newer.key, 'allow-unauthenticated': newer.key });
    expect(allowed.errors).toEqual([]);
    expect(allowed.outputs.result).toBe('passed');
    expect(allowed.outputs['backup-key']).toBe(newer.key);
    expect(allowed.warnings.join('\n')).toMatch(
      /USING AN UNAUTHENTICATED BACKUP because 'allow-unauthenticated' names it: .*Nothing proves it was written by your backup job/,
    );
    expect(allowed.summary).toMatch(/UNAUTHENTICATED BACKUP, used only because 'allow-unauthenticated' names it/);
    expect(latest.summary).not.toMatch(/UNAUTHENTICATED BACKUP/);
    expect(scratchOf('vlocal')).toEqual([]);
  });

  it('fails on a truncated --backup-file (no catalog: the stream itself finds it)', async () => {
    const dir = copyDir(localDir);
    const file = path.join(dir, localBackup.key);
    fs.truncateSync(file, fs.statSync(file).size - 100);
    const r = await runCli(['verify', '--backup-file', file, '--database-url', pgUrl('postgres')], {
      PGDR_ENCRYPTION_PASSPHRASE: PASSPHRASE,
    });
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/truncated: .* holds \d+ bytes, its manifest says \d+ \(100 B missing\)/);
    expect(scratchOf('vlocal')).toEqual([]);
  });

  it('logs the restore and the dump as they go: bytes of the whole, percent and rate (PGDR_PROGRESS_SECONDS)', async () => {
    const env = { PGDR_PROGRESS_SECONDS: '0.02' };
    const run = await runAction(
      'verify',
      { destination: localDir, name: 'vlocal', 'database-url': pgUrl('postgres'), 'encryption-passphrase': PASSPHRASE },
      { env },
    );
    expect(run.status).toBe(0);
    const stored = fs.statSync(path.join(localDir, localBackup.key)).size;
    // `restore: 1.2 MiB of 3.4 MiB, 0s, 5.0 MiB/s now, ETA 1s, loading public.x` (the total is exact here).
    const lines = [...run.visible.matchAll(/restore: (\S+ \S+) of (\S+ \S+), \S+, \S+ \S+\/s now(.*)$/gm)];
    expect(lines.length).toBeGreaterThan(0);
    // Bytes are counted as they are read (the first version only learned them at the end: "0 B read").
    expect(lines.some((l) => l[1] !== '0 B')).toBe(true);
    for (const l of lines) expect(l[2]).toBe(formatBytes(stored));
    // The validation phase logs its result.
    expect(run.visible).toMatch(/tables compared with the manifest in .*: all match/);
    const b = await runAction(
      'backup',
      {
        'database-url': pgUrl(source),
        destination: copyDir(localDir),
        name: 'vlocal',
        'encryption-passphrase': PASSPHRASE,
      },
      { env },
    );
    expect(b.status).toBe(0);
    // `dump: 1.2 MiB of ~3.4 MiB, 0s, 5.0 MiB/s now, ETA 1s, public.events`: the estimate from vlocal's last backup.
    expect(b.visible).toMatch(/dump: [\d.]+ \S+ of ~[\d.]+ \S+, \S+, [\d.]+ \S+\/s now/);
    expect(b.visible).toMatch(/previous backup: .* the progress estimate/);
    const bad = await runAction(
      'verify',
      { destination: localDir, name: 'vlocal', 'database-url': pgUrl('postgres'), 'encryption-passphrase': PASSPHRASE },
      { env: { PGDR_PROGRESS_SECONDS: 'often' } },
    );
    expect(bad.status).not.toBe(0);
    expect(bad.errors.join('\n')).toMatch(/PGDR_PROGRESS_SECONDS must be a number of seconds .* \(got 'often'\)/);
    expect(bad.visible).not.toContain('Find the backup');
  });

  it('fails on a private key that is not the recipient', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-vwrong-'));
    await backup({
      'database-url': pgUrl(source),
      destination: dir,
      name: 'vwrong',
      'encryption-public-key': keyWithout.publicKey,
      'signing-key': signing.privateKey,
    });
    const run = await runAction('verify', {
      destination: dir,
      'database-url': pgUrl('postgres'),
      'encryption-private-key': otherKey.privateKey,
      'signing-public-key': signing.publicKey,
    });
    expect(run.outputs['failure-kind']).toBe('wrong-key');
    expect(run.errors.join('\n')).toMatch(
      new RegExp(
        `wrong key: this backup was encrypted to ${keyWithout.fingerprint}, but 'encryption-private-key' holds ${otherKey.fingerprint}`,
      ),
    );
    expect(scratchOf('vwrong')).toEqual([]);
  });

  it('fails on a flipped byte in an unencrypted, uncompressed dump that psql would load without complaint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-vnone-'));
    const b = await backup({
      'database-url': pgUrl(source),
      destination: dir,
      name: 'vnone',
      compression: 'none',
      encryption: 'none',
      'signing-key': signing.privateKey,
    });
    const f = path.join(dir, b.key);
    const text = fs.readFileSync(f, 'utf8');
    // Change one character inside a row of sales.orders' COPY data: still valid SQL, different data.
    const at = text.indexOf('\n10000\t') + 1;
    expect(at).toBeGreaterThan(0);
    fs.writeFileSync(f, `${text.slice(0, at)}9${text.slice(at + 1)}`);
    const run = await runAction('verify', {
      destination: dir,
      'database-url': pgUrl('postgres'),
      'signing-public-key': signing.publicKey,
    });
    expect(run.outputs.result).toBe('failed');
    expect(run.outputs['failure-kind']).toBe('checksum');
    expect(run.errors.join('\n')).toMatch(/checksum mismatch/);
    expect(run.outputs.tables).toBe('0'); // nothing from the damaged stream is reported as checked
    expect(scratchOf('vnone')).toEqual([]);
  });

  it('fails the RPO target when the backup is older than max-age, yet checks the tables', async () => {
    const run = await runAction('verify', {
      destination: localDir,
      'database-url': pgUrl('postgres'),
      'encryption-passphrase': PASSPHRASE,
      'max-age': '0s',
    });
    expect(run.outputs.result).toBe('failed');
    expect(run.outputs['failure-kind']).toBe('rpo');
    expect(run.outputs.mismatches).toBe('0');
    expect(run.errors.join('\n')).toMatch(/RPO target missed: the backup is .* old, 'max-age' is 0\.0s/);
    expect(scratchOf('vlocal')).toEqual([]);
  });

  it('keeps the scratch database with keep-database: true', async () => {
    const run = await runAction('verify', {
      destination: localDir,
      'database-url': pgUrl('postgres'),
      'encryption-passphrase': PASSPHRASE,
      'keep-database': 'true',
    });
    expect(run.outputs.result).toBe('passed');
    const kept = run.outputs['scratch-database'] as string;
    expect(kept).toMatch(/^pgdr_verify_vlocal_\d{8}_\d{6}_[0-9a-f]{6}$/);
    expect(scratchOf('vlocal')).toEqual([kept]);
    expect(psql(kept, 'SELECT count(*) FROM sales.orders')).toBe('20000');
    dropDatabase(kept);
  });

  /** A backup of about 40 MB of rows (set 'vbig'), made once. */
  let big: Promise<{ dir: string; key: string }> | undefined;
  function bigBackup(): Promise<{ dir: string; key: string }> {
    big ??= (async () => {
      const db = createDatabase('vbig');
      psql(db, AWKWARD_SCHEMA_SQL);
      addLargeTable(db, 40);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-vbig-'));
      const b = await backup({
        'database-url': pgUrl(db),
        destination: dir,
        name: 'vbig',
        'encryption-passphrase': PASSPHRASE,
      });
      return { dir, key: b.key };
    })();
    return big;
  }

  it('drops the scratch database when cancelled mid-restore (SIGTERM)', async () => {
    const { dir } = await bigBackup();
    const run = await runAction(
      'verify',
      { destination: dir, 'database-url': pgUrl('postgres'), 'encryption-passphrase': PASSPHRASE },
      { signal: { name: 'SIGTERM', whenStdoutMatches: /scratch database: pgdr_verify_vbig/ } },
    );
    expect(run.status).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(/cancelled by SIGTERM/);
    expect(scratchOf('vbig')).toEqual([]);
  });

  it('classifies damage that breaks the stream (gunzip, psql) long before the hash is complete', async () => {
    const { dir: original, key } = await bigBackup();
    const dir = copyDir(original);
    const f = path.join(dir, key);
    const fd = fs.openSync(f, 'r+');
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, 1_000_000);
    fs.writeSync(fd, Buffer.from([(byte[0] as number) ^ 0xff]), 0, 1, 1_000_000);
    fs.closeSync(fd);
    const run = await runAction('verify', {
      destination: dir,
      'database-url': pgUrl('postgres'),
      'encryption-passphrase': PASSPHRASE,
    });
    expect(run.outputs['failure-kind']).toBe('checksum');
    expect(run.errors.join('\n')).toMatch(/checksum mismatch: .* is corrupted/);
    // The stream broke first (gzip or psql), then the object was read again to find out why.
    expect(run.visible).toMatch(/the restore stream failed \(.*\); reading .* again to find out why/);
    expect(run.outputs.tables).toBe('0');
    expect(scratchOf('vbig')).toEqual([]);
  });

  it('refuses bad inputs before any I/O, naming the input', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ destination: localDir, 'max-age': 'soon' }, /'max-age' must be a duration/],
      [{ destination: localDir, jobs: '0' }, /'jobs' must be a whole number from 1 to 64/],
      [{ destination: localDir, 'backup-file': '/tmp/x.sql.gz.gpg' }, /either 'destination' or 'backup-file'/],
      [
        { destination: localDir, 'encryption-private-key': 'nope' },
        /'encryption-private-key' must be an ASCII-armored/,
      ],
      [{}, /'destination' is required/],
    ];
    for (const [inputs, message] of cases) {
      const run = await runAction('verify', { 'database-url': pgUrl('postgres'), ...inputs });
      expect(run.status).not.toBe(0);
      expect(run.errors.join('\n')).toMatch(message);
    }
  });
});
