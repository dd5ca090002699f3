/**
 * OpenPGP encryption with GnuPG: AES-256, SEIPD v1 (MDC), no compression of its own — output that any
 * GnuPG 2.2+ decrypts with a plain `gpg --decrypt`. GnuPG streams in constant memory and outruns the
 * JavaScript implementations; secrets reach it through a pipe on fd 3, never argv or a file. Each use
 * gets its own temporary home directory, removed afterwards.
 */
import { pbkdf2 as pbkdf2Cb, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { IntegrityError, UserError } from '../../util/errors.js';
import { tempRoot } from '../../util/temp.js';
import { processTransform, runProcess } from './process.js';

export function gpgBinary(): string {
  return process.env.PGDR_GPG ?? 'gpg';
}

const pbkdf2 = promisify(pbkdf2Cb);
const PBKDF2_ITERATIONS = 600_000;

/**
 * A salted PBKDF2-SHA256 digest (600 000 iterations) that identifies a passphrase without revealing it:
 * `pbkdf2-sha256:<iterations>:<salt>:<hash>`. Guessing against it costs more than guessing against the
 * ciphertext's own S2K, so it gives nothing away; it lets verify and restore pick the right passphrase.
 */
export async function passphraseFingerprint(passphrase: string, salt = randomBytes(16)): Promise<string> {
  const hash = await pbkdf2(passphrase, salt, PBKDF2_ITERATIONS, 16, 'sha256');
  return `pbkdf2-sha256:${PBKDF2_ITERATIONS}:${salt.toString('base64')}:${hash.toString('hex')}`;
}

export async function passphraseMatches(passphrase: string, fingerprint: string): Promise<boolean> {
  // The fingerprint comes from storage: only the parameters this tool writes are accepted, so a planted
  // manifest cannot ask for 2^31 PBKDF2 rounds (a job stuck for hours, deaf to cancellation).
  const m = /^pbkdf2-sha256:(\d+):([A-Za-z0-9+/=]{1,64}):([0-9a-f]{32})$/.exec(fingerprint);
  if (!m || Number(m[1]) !== PBKDF2_ITERATIONS) return false;
  const expected = Buffer.from(m[3] as string, 'hex');
  const actual = await pbkdf2(
    passphrase,
    Buffer.from(m[2] as string, 'base64'),
    Number(m[1]),
    expected.length,
    'sha256',
  );
  return timingSafeEqual(expected, actual);
}

export function checkPassphrase(passphrase: string, input: string): void {
  if (/[\r\n]/.test(passphrase)) throw new UserError(`'${input}' must be a single line`);
  if (passphrase.length < 8) throw new UserError(`'${input}' is too short: use at least 8 characters (better 20+)`);
}

/** The passphrase comes from fd 3 (a pipe we write), never a prompt, argv or the agent's cache. */
const PASSPHRASE_ON_FD3 = ['--pinentry-mode', 'loopback', '--passphrase-fd', '3', '--no-symkey-cache'];

const BASE_ARGS = ['--batch', '--no-tty', '--quiet', '--no-greeting', '--no-permission-warning'];

/** Maps GnuPG's stderr to errors that say what happened. */
function decryptLineError(line: string): Error | undefined {
  if (/decryption failed: Bad session key/i.test(line)) {
    return new IntegrityError('wrong key: the passphrase does not decrypt this backup', 'wrong-key');
  }
  if (/decryption failed: No secret key/i.test(line)) {
    return new IntegrityError('wrong key: none of the given private keys can decrypt this backup', 'wrong-key');
  }
  if (/encrypted message has been manipulated|mdc.*(fail|invalid)/i.test(line)) {
    return new IntegrityError(
      'the encrypted data failed its integrity check (MDC): the object is corrupted',
      'decrypt',
    );
  }
  if (/bad passphrase/i.test(line)) {
    return new UserError("'encryption-private-key-passphrase' does not unlock the private key");
  }
  return undefined;
}

/**
 * What gpg's status lines (`--status-fd 2`, `[GNUPG:] …`) say about a decryption. Its exit status alone
 * is not enough: `gpg --decrypt` of an unencrypted literal packet prints it and exits 0, and a message
 * without integrity protection (no MDC) decrypts before gpg complains. So output passes only once the
 * status says a decryption began with an MDC (or AEAD), and success needs DECRYPTION_OKAY with no
 * DECRYPTION_FAILED, BADMDC, NODATA or ERROR.
 */
export class DecryptStatus {
  private began = false;
  private okay = false;
  private problems: string[] = [];
  private decide!: (err: Error | null) => void;
  private decided = false;
  /** Settles when the output may pass (null) or must not (the reason). */
  readonly gate: Promise<Error | null> = new Promise((resolve) => {
    this.decide = resolve;
  });

  private settle(err: Error | null): Error | null {
    if (!this.decided) {
      this.decided = true;
      this.decide(err);
    }
    return err;
  }

  /** One stderr line; returns an Error that fails the stream at once. */
  line(line: string): Error | undefined {
    const m = /^\[GNUPG:\] (\S+)\s*(.*)$/.exec(line);
    if (!m) return undefined;
    const [, keyword, rest] = m as unknown as [string, string, string];
    const f = rest.split(/\s+/);
    switch (keyword) {
      case 'BEGIN_DECRYPTION':
        this.began = true;
        break;
      case 'DECRYPTION_INFO':
        // DECRYPTION_INFO <mdc_method> <sym_algo> [<aead_algo>]: neither an MDC nor AEAD: unauthenticated.
        if (f[0] === '0' && (f[2] ?? '0') === '0') {
          return this.settle(
            new IntegrityError(
              'the backup is encrypted without integrity protection (no MDC): refused, it may have been altered',
              'decrypt',
            ),
          ) as Error;
        }
        break;
      case 'PLAINTEXT':
        if (!this.began) {
          return this.settle(
            new IntegrityError(
              'the backup object is not encrypted (a plain OpenPGP literal packet where an encrypted message was expected): refused',
              'decrypt',
            ),
          ) as Error;
        }
        this.settle(null);
        break;
      case 'DECRYPTION_OKAY':
        this.okay = true;
        break;
      case 'DECRYPTION_FAILED':
      case 'BADMDC':
      case 'NODATA':
      case 'ERROR':
        this.problems.push(`${keyword}${rest ? ` ${rest}` : ''}`);
        break;
    }
    return undefined;
  }

  /** After gpg exited 0: the decryption's verdict. */
  verdict(): Error | undefined {
    const err = !this.began
      ? new IntegrityError('the backup object is not an encrypted OpenPGP message: refused', 'decrypt')
      : this.problems.length || !this.okay
        ? new IntegrityError(
            `gpg did not confirm the decryption (${this.problems.join('; ') || 'no DECRYPTION_OKAY'}): the object is corrupted or not what it claims`,
            'decrypt',
          )
        : undefined;
    this.settle(err ?? null);
    return err;
  }
}

export class GpgSession {
  /** The ends of the gpg processes started in this home: close() waits for them (gpg writes to it on exit). */
  private readonly running = new Set<Promise<unknown>>();

  private constructor(readonly home: string) {}

  /** A fresh 0700 home under `parent` (default: the runner's temp directory, else the system's). */
  static async create(parent = tempRoot()): Promise<GpgSession> {
    // Short path: gpg-agent's socket must fit in sun_path.
    const home = await fs.mkdtemp(path.join(parent, 'pgdr-gpg-'));
    await fs.chmod(home, 0o700);
    return new GpgSession(home);
  }

  private args(...rest: string[]): string[] {
    return ['--homedir', this.home, ...BASE_ARGS, ...rest];
  }

  /** `--homedir` and the batch options, for callers that run gpg themselves. */
  baseArgs(): string[] {
    return this.args();
  }

  /** Imports an armored public key; returns the primary key's fingerprint. */
  async importPublicKey(armored: string, input = 'encryption-public-key'): Promise<string> {
    if (!/-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(armored)) {
      throw new UserError(
        `'${input}' must be an ASCII-armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK-----)`,
      );
    }
    const before = new Set(await this.fingerprints(false));
    try {
      await runProcess(gpgBinary(), this.args('--import'), {
        name: 'gpg --import',
        track: this.running,
        input: armored,
      });
    } catch (err) {
      throw new UserError(`'${input}' could not be imported by gpg: ${(err as Error).message}`);
    }
    const fprs = (await this.fingerprints(false)).filter((f) => !before.has(f));
    if (fprs.length !== 1) throw new UserError(`'${input}' must hold exactly one public key (found ${fprs.length})`);
    return fprs[0] as string;
  }

  /** Imports armored private keys; returns their primary fingerprints. */
  async importSecretKey(
    armored: string,
    passphrase: string | undefined,
    input = 'encryption-private-key',
  ): Promise<string[]> {
    if (!/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(armored)) {
      throw new UserError(
        `'${input}' must be an ASCII-armored OpenPGP private key (-----BEGIN PGP PRIVATE KEY BLOCK-----)`,
      );
    }
    try {
      await runProcess(gpgBinary(), this.args('--pinentry-mode', 'loopback', '--passphrase-fd', '3', '--import'), {
        name: 'gpg --import',
        track: this.running,
        input: armored,
        fd3: `${passphrase ?? ''}\n`,
      });
    } catch (err) {
      throw new UserError(`'${input}' could not be imported by gpg: ${(err as Error).message}`);
    }
    return this.fingerprints(true);
  }

  private async fingerprints(secret: boolean): Promise<string[]> {
    const out = await runProcess(
      gpgBinary(),
      this.args('--with-colons', '--fingerprint', secret ? '--list-secret-keys' : '--list-keys'),
      { name: 'gpg --list-keys', track: this.running },
    );
    const fprs: string[] = [];
    let primary = false;
    for (const line of out.split('\n')) {
      const f = line.split(':');
      if (f[0] === 'pub' || f[0] === 'sec') primary = true;
      else if (f[0] === 'sub' || f[0] === 'ssb') primary = false;
      else if (f[0] === 'fpr' && primary && f[9]) {
        fprs.push(f[9]);
        primary = false;
      }
    }
    return fprs;
  }

  /** An encrypting stage: plaintext in, OpenPGP message out. */
  encrypt(target: { passphrase: string } | { recipient: string }): Duplex {
    const common = ['--rfc4880', '--cipher-algo', 'AES256', '--compress-algo', 'none', '--output', '-'];
    if ('passphrase' in target) {
      return processTransform(
        gpgBinary(),
        this.args(
          ...PASSPHRASE_ON_FD3,
          '--s2k-mode',
          '3',
          '--s2k-digest-algo',
          'SHA512',
          '--s2k-count',
          '65011712',
          ...common,
          '--symmetric',
        ),
        { name: 'gpg (encrypt)', track: this.running, fd3: `${target.passphrase}\n` },
      );
    }
    return processTransform(
      gpgBinary(),
      this.args('--trust-model', 'always', '--recipient', target.recipient, ...common, '--encrypt'),
      { name: 'gpg (encrypt)', track: this.running },
    );
  }

  /** A decrypting stage. `passphrase` is the message passphrase, or the private key's passphrase. */
  decrypt(passphrase?: string): Duplex {
    const status = new DecryptStatus();
    return processTransform(
      gpgBinary(),
      this.args(...PASSPHRASE_ON_FD3, '--status-fd', '2', '--output', '-', '--decrypt'),
      {
        name: 'gpg (decrypt)',
        track: this.running,
        fd3: `${passphrase ?? ''}\n`,
        onStderrLine: (line) => status.line(line) ?? decryptLineError(line),
        onExit: () => status.verdict(),
        outputGate: status.gate,
      },
    );
  }

  async close(): Promise<void> {
    // Every daemon of this home (gpg-agent, and dirmngr/keyboxd where a gpg started them).
    await runProcess('gpgconf', ['--homedir', this.home, '--kill', 'all'], {
      name: 'gpgconf',
      track: this.running,
    }).catch(() => {});
    await fs.rm(this.home, { recursive: true, force: true });
  }
}
