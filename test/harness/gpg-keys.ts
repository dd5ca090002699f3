/** Throwaway OpenPGP key pairs for tests, made with gpg in a temporary GNUPGHOME. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestKeyPair {
  publicKey: string;
  privateKey: string;
  fingerprint: string;
  passphrase?: string;
}

export function makeKeyPair(uid: string, passphrase?: string): TestKeyPair {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gpgk-'));
  fs.chmodSync(home, 0o700);
  const gpg = (...args: string[]): string =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  try {
    gpg('--passphrase', passphrase ?? '', '--quick-gen-key', uid, 'future-default', 'default', 'never');
    const colons = gpg('--with-colons', '--fingerprint', '--list-keys', uid);
    const fingerprint = (/^fpr:+([0-9A-F]{40}):/m.exec(colons) as RegExpExecArray)[1] as string;
    return {
      fingerprint,
      passphrase,
      publicKey: gpg('--armor', '--export', fingerprint),
      privateKey: gpg('--passphrase', passphrase ?? '', '--armor', '--export-secret-keys', fingerprint),
    };
  } finally {
    try {
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    } catch {
      // no agent
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}
