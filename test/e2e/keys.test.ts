/**
 * Key management end to end, with the bundled actions and CLI: `pgdr keygen` → backup with the public key
 * only → verify with the private key; key rotation (several passphrases, several private keys: the one
 * the manifest names is used; none matching is a clear failure); `pgdr keys` shows which backups need
 * which key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/core/manifest.js';
import { runAction, runCli } from '../harness/action.js';
import { createDatabase, pgUrl, psql } from '../harness/context.js';
import { makeKeyPair } from '../harness/gpg-keys.js';

const OLD = `old passphrase ${Date.now()}`;
const NEW = `new passphrase ${Date.now()}`;

async function backup(inputs: Record<string, string>): Promise<{ key: string; manifestKey: string }> {
  const run = await runAction('backup', inputs);
  expect(run.errors).toEqual([]);
  expect(run.status).toBe(0);
  return { key: run.outputs.key as string, manifestKey: run.outputs['manifest-key'] as string };
}

async function verify(inputs: Record<string, string>) {
  return runAction('verify', { 'database-url': pgUrl('postgres'), ...inputs });
}

describe('keys (bundled actions and CLI)', () => {
  let source: string;
  beforeAll(() => {
    source = createDatabase('keys');
    psql(
      source,
      'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g;',
    );
  });

  it('keygen → backup holding only the public key → verify with the private key passes', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-keygen-')), 'keys');
    const keyPass = `private key passphrase ${Date.now()}`;
    const gen = await runCli(['keygen', '--output', out, '--uid', 'pgdr e2e <ops@example.com>'], {
      PGDR_KEY_PASSPHRASE: keyPass,
    });
    expect(gen.stderr).not.toMatch(/error/i);
    expect(gen.status).toBe(0);
    const fingerprint = /fingerprint ([0-9A-F]{40})/.exec(gen.stdout)?.[1] as string;
    expect(fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect(gen.stdout).toMatch(/BACKUP_PUBLIC_KEY/);
    expect(gen.stdout).toMatch(/protected environment/);
    expect(gen.stdout + gen.stderr).not.toContain(keyPass);
    const files = fs.readdirSync(out).sort();
    expect(files).toEqual(['pgdr-backup-private.asc', 'pgdr-backup-public.asc']);
    for (const f of files) expect(fs.statSync(path.join(out, f)).mode & 0o777).toBe(0o600);
    const publicKey = fs.readFileSync(path.join(out, 'pgdr-backup-public.asc'), 'utf8');
    const privateKey = fs.readFileSync(path.join(out, 'pgdr-backup-private.asc'), 'utf8');
    expect(publicKey).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    expect(privateKey).toMatch(/^-----BEGIN PGP PRIVATE KEY BLOCK-----/);

    // A second keygen into the same directory must not overwrite the key pair.
    const again = await runCli(['keygen', '--output', out]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/already exists/);
    expect(fs.readFileSync(path.join(out, 'pgdr-backup-private.asc'), 'utf8')).toBe(privateKey);

    // A second key pair, apart from the encryption key, signs the manifests: the backup job holds its private half.
    const signingOut = path.join(path.dirname(out), 'signing');
    const signingGen = await runCli(['keygen', '--output', signingOut, '--uid', 'pgdr e2e signing <ops@example.com>']);
    expect(signingGen.status).toBe(0);
    const signingKey = fs.readFileSync(path.join(signingOut, 'pgdr-backup-private.asc'), 'utf8');
    const signingPublicKey = fs.readFileSync(path.join(signingOut, 'pgdr-backup-public.asc'), 'utf8');

    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-pubkey-'));
    const backupInputs = {
      'database-url': pgUrl(source),
      destination: dest,
      name: 'pubkey',
      'encryption-public-key': publicKey,
    };
    // The backup job holds no private key that decrypts.
    expect(Object.values(backupInputs).join('\n')).not.toMatch(/PRIVATE KEY/);
    // Encrypted to a public key, a backup must be signed: the job cannot decrypt, so a key of its own vouches.
    const unsigned = await runAction('backup', backupInputs);
    expect(unsigned.status).not.toBe(0);
    expect(unsigned.errors.join('\n')).toMatch(/'encryption-public-key' needs 'signing-key'/);
    expect(fs.readdirSync(dest)).toEqual([]);
    const b = await backup({ ...backupInputs, 'signing-key': signingKey });
    const manifest = parseManifest(fs.readFileSync(path.join(dest, b.manifestKey), 'utf8'));
    expect(manifest.encryption).toMatchObject({ scheme: 'openpgp-public-key', keyFingerprint: fingerprint });

    const run = await verify({
      destination: dest,
      name: 'pubkey',
      'encryption-private-key': privateKey,
      'encryption-private-key-passphrase': keyPass,
      'signing-public-key': signingPublicKey,
    });
    expect(run.errors).toEqual([]);
    expect(run.outputs.result).toBe('passed');
    expect(run.outputs['backup-key']).toBe(b.key);
  });

  it('passphrase rotation: each backup opens with the list of passphrases; none matching fails clearly; pgdr keys tells them apart', async () => {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-rotate-'));
    const old = await backup({
      'database-url': pgUrl(source),
      destination: dest,
      name: 'rot',
      'encryption-passphrase': OLD,
    });
    await new Promise((r) => setTimeout(r, 1100)); // one backup per second per set
    const fresh = await backup({
      'database-url': pgUrl(source),
      destination: dest,
      name: 'rot',
      'encryption-passphrase': NEW,
    });

    for (const b of [old, fresh]) {
      const run = await verify({ destination: dest, backup: b.key, 'encryption-passphrase': `${NEW}\n${OLD}` });
      expect(run.errors).toEqual([]);
      expect(run.outputs.result).toBe('passed');
    }
    const wrong = await verify({
      destination: dest,
      backup: old.key,
      'encryption-passphrase': `${NEW}\nyet another passphrase`,
    });
    // The passphrase also authenticates the manifest: none matching, it is refused before any download.
    expect(wrong.status).not.toBe(0);
    expect(wrong.outputs['failure-kind']).toBe('unauthenticated');
    expect(wrong.errors.join('\n')).toMatch(
      /not authenticated: .* its authenticator does not match \(edited, or made with another passphrase\) \(checked with 2 passphrase\(s\)\)/,
    );

    const keys = await runCli(['keys', '--destination', dest, '--name', 'rot'], {
      PGDR_ENCRYPTION_PASSPHRASE: `${NEW}\n${OLD}\nretired passphrase`,
    });
    expect(keys.stderr).not.toMatch(/^pgdr:/m);
    expect(keys.status).toBe(0);
    expect(keys.stdout).toMatch(/2 backup\(s\) use 2 key\(s\)/);
    expect(keys.stdout).toMatch(
      new RegExp(`passphrase #1\\s+1\\s+.+? UTC\\s+.+? UTC\\s+${fresh.key.replace(/\./g, '\\.')}\\s+✅ yes`),
    );
    expect(keys.stdout).toMatch(
      new RegExp(`passphrase #2\\s+1\\s+.+? UTC\\s+.+? UTC\\s+${old.key.replace(/\./g, '\\.')}\\s+✅ yes`),
    );
    expect(keys.stdout).toMatch(/No kept backup needs passphrase #3: it can be retired/);
    expect(keys.stdout + keys.stderr).not.toContain(OLD);
  });

  it('private key rotation: several armored private keys; the one the backup was encrypted to is used', async () => {
    const k1 = makeKeyPair('rotation one <one@example.com>');
    const k2 = makeKeyPair('rotation two <two@example.com>');
    const signing = makeKeyPair('rotation signing <sign@example.com>');
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-rotate-pk-'));
    const b = await backup({
      'database-url': pgUrl(source),
      destination: dest,
      name: 'rotpk',
      'encryption-public-key': k1.publicKey,
      'signing-key': signing.privateKey,
    });

    const both = await verify({
      destination: dest,
      name: 'rotpk',
      'encryption-private-key': `${k2.privateKey}\n${k1.privateKey}`,
      'signing-public-key': signing.publicKey,
    });
    expect(both.errors).toEqual([]);
    expect(both.outputs.result).toBe('passed');

    const onlyNew = await verify({
      destination: dest,
      name: 'rotpk',
      'encryption-private-key': k2.privateKey,
      'signing-public-key': signing.publicKey,
    });
    expect(onlyNew.status).not.toBe(0);
    expect(onlyNew.errors.join('\n')).toMatch(
      new RegExp(
        `this backup was encrypted to ${k1.fingerprint}, but 'encryption-private-key' holds ${k2.fingerprint}; none of the given keys matches`,
      ),
    );

    const keys = await runCli(['keys', '--destination', dest, '--json'], {
      PGDR_ENCRYPTION_PRIVATE_KEY: k2.privateKey,
      PGDR_SIGNING_PUBLIC_KEY: signing.publicKey,
    });
    expect(keys.status).toBe(0);
    expect(keys.stdout).toContain(k1.fingerprint);
    expect(keys.stdout).toContain(b.key);
    // k1's backups cannot be opened with k2 alone: reported, and k2 is needed by no backup.
    expect(keys.stdout + keys.stderr).toMatch(/1 kept backup\(s\) cannot be opened with any of the given keys/);
  });
});
