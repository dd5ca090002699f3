/** Throwaway OpenPGP key pairs for tests, made with gpg in a temporary GNUPGHOME. */
import { execFileSync } from 'node:child_process';
import { withGnupgHome } from './gnupg.js';

export interface TestKeyPair {
  publicKey: string;
  privateKey: string;
  fingerprint: string;
  passphrase?: string;
}

export function makeKeyPair(uid: string, passphrase?: string): TestKeyPair {
  return withGnupgHome((home) => {
    const gpg = (...args: string[]): string =>
      execFileSync('gpg', ['--homedir', home, '--batch', '--pinentry-mode', 'loopback', ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    gpg('--passphrase', passphrase ?? '', '--quick-gen-key', uid, 'future-default', 'default', 'never');
    const colons = gpg('--with-colons', '--fingerprint', '--list-keys', uid);
    const fingerprint = (/^fpr:+([0-9A-F]{40}):/m.exec(colons) as RegExpExecArray)[1] as string;
    return {
      fingerprint,
      passphrase,
      publicKey: gpg('--armor', '--export', fingerprint),
      privateKey: gpg('--passphrase', passphrase ?? '', '--armor', '--export-secret-keys', fingerprint),
    };
  }, 'gpgk-');
}
