/**
 * The decrypting stage against real gpg: only an encrypted, integrity-protected message gets through.
 * An unencrypted OpenPGP literal packet (gpg --store: `gpg --decrypt` prints it and exits 0) and a
 * message without MDC are refused before any of their bytes pass; the session leaves no home behind.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GpgSession } from '../../src/core/pipeline/gpg.js';

const PASSPHRASE = 'decrypt test passphrase';
const PLAINTEXT = 'SELECT 1; -- the dump\n'.repeat(1000);

/** Runs gpg with a throwaway home; returns stdout. */
function gpg(home: string, args: string[], input: string | Buffer): Buffer {
  return execFileSync(
    'gpg',
    ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', PASSPHRASE, ...args],
    { input, stdio: ['pipe', 'pipe', 'ignore'] },
  );
}

async function decrypt(parent: string, message: Buffer): Promise<{ out: string; error?: Error }> {
  const session = await GpgSession.create(parent);
  let out = '';
  try {
    await pipeline(
      Readable.from([message]),
      session.decrypt(PASSPHRASE),
      new Writable({
        write(c: Buffer, _e, cb) {
          out += c.toString();
          cb();
        },
      }),
    );
    return { out };
  } catch (error) {
    return { out, error: error as Error };
  } finally {
    await session.close();
  }
}

describe('GpgSession.decrypt judged by gpg status lines', () => {
  let home: string;
  let parent: string;
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-gpgtest-'));
    parent = fs.mkdtempSync(path.join(os.tmpdir(), 'pgdr-gpgparent-'));
  });
  afterAll(() => {
    execFileSync('gpgconf', ['--homedir', home, '--kill', 'all']);
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(parent, { recursive: true, force: true });
  });

  it('decrypts a message it encrypted (MDC, AES-256)', async () => {
    const message = gpg(home, ['--rfc4880', '--cipher-algo', 'AES256', '--symmetric', '--output', '-'], PLAINTEXT);
    const r = await decrypt(parent, message);
    expect(r.error).toBeUndefined();
    expect(r.out).toBe(PLAINTEXT);
  });

  it('refuses an unencrypted literal packet (gpg --store), passing none of it on', async () => {
    const literal = gpg(home, ['--store', '--output', '-'], PLAINTEXT);
    // The point: gpg itself accepts it.
    expect(gpg(home, ['--decrypt'], literal).toString()).toBe(PLAINTEXT);
    const r = await decrypt(parent, literal);
    expect(r.error?.message).toMatch(/not encrypted .*literal packet.*refused/);
    expect(r.out).toBe('');
  });

  it('refuses a message without integrity protection (no MDC), passing none of it on', async () => {
    const noMdc = gpg(home, ['--rfc2440', '--cipher-algo', 'CAST5', '--symmetric', '--output', '-'], PLAINTEXT);
    const r = await decrypt(parent, noMdc);
    expect(r.error?.message).toMatch(/without integrity protection/);
    expect(r.out).toBe('');
  });

  it('refuses a wrong passphrase as a wrong key', async () => {
    const message = execFileSync(
      'gpg',
      [
        '--homedir',
        home,
        '--batch',
        '--quiet',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        'another passphrase',
        '--no-symkey-cache',
        '--symmetric',
        '--output',
        '-',
      ],
      { input: PLAINTEXT, stdio: ['pipe', 'pipe', 'ignore'] },
    );
    const r = await decrypt(parent, message);
    expect(r.error?.message).toMatch(/wrong key/);
  });

  it('leaves no gpg home behind', () => {
    expect(fs.readdirSync(parent)).toEqual([]);
  });
});
