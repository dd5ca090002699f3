/** `pgdr keygen`: an OpenPGP key pair (encryption, or signing manifests), and where each half belongs. */

import { generateKeyPair, KEY_ALGORITHMS, KEY_PURPOSES, type KeygenConfig } from '../core/keygen.js';
import type { CommandResult } from '../core/report.js';
import { UserError } from '../util/errors.js';
import { parseChoice } from '../util/units.js';
import type { Command } from './command.js';
import { boundInputs, type CommandSpec, type InputGetter } from './schema.js';

export function readKeygenConfig(raw: InputGetter): KeygenConfig {
  const get = boundInputs(keygenSpec, raw);
  const outputDir = get('output');
  if (!outputDir) throw new UserError(`'output' is required: the directory to write the key pair into`);
  if (/^s3:\/\//i.test(outputDir)) throw new UserError(`'output' must be a local directory, not ${outputDir}`);
  const algorithm = parseChoice(get('algorithm'), 'algorithm', KEY_ALGORITHMS);
  const purpose = parseChoice(get('purpose'), 'purpose', KEY_PURPOSES);
  const uid = get('uid');
  if (/[<>]/.test(uid) && !/^[^<>]*<[^<>@\s]+@[^<>\s]+>$/.test(uid)) {
    throw new UserError(`'uid' must look like "Name <email@example.com>" or a plain name (got '${uid}')`);
  }
  const passphrase = get('key-passphrase') || undefined;
  if (passphrase && /[\r\n]/.test(passphrase)) throw new UserError(`'key-passphrase' must be a single line`);
  return { outputDir, purpose, algorithm, uid, passphrase };
}

export const keygenSpec: CommandSpec = {
  name: 'keygen',
  summary: 'make an OpenPGP key pair: for public-key encryption, or (--purpose signing) to sign manifests',
  inputs: {
    output: {
      description:
        'The local directory to write the key pair into (pgdr-backup-{public,private}.asc, or pgdr-signing-{public,private}.asc).',
      required: true,
      cliAliases: ['o'],
    },
    purpose: {
      description:
        'encryption: a pair for encryption-public-key / encryption-private-key. signing: a pair for signing-key (the backup job signs each manifest) / signing-public-key (every job that reads backups checks them).',
      default: 'encryption',
      choices: KEY_PURPOSES,
    },
    algorithm: { description: 'Key algorithm.', default: 'ed25519', choices: KEY_ALGORITHMS },
    uid: { description: 'User ID of the key: a name, or "Name <email@example.com>".', default: 'postgres-dr backups' },
    'key-passphrase': {
      description: 'Protect the private key with this passphrase (then pass it as encryption-private-key-passphrase).',
      secret: true,
    },
  },
  outputs: {
    fingerprint: { description: 'Fingerprint of the new key.' },
    'public-key-file': { description: 'Path of the public key (for encryption-public-key).' },
    'private-key-file': { description: 'Path of the private key (for encryption-private-key).' },
  },
};

export const keygenCommand: Command = {
  spec: keygenSpec,
  async run(get, ctx): Promise<CommandResult> {
    const cfg = readKeygenConfig(get);
    ctx.log.info(`generating a ${cfg.algorithm} key pair for '${cfg.uid}'`);
    const r = await generateKeyPair(cfg);
    const signing = r.purpose === 'signing';
    const rows: string[][] = signing
      ? [
          [
            r.privateKeyFile,
            'secret BACKUP_SIGNING_KEY → input signing-key',
            'the backup job (and restore, for its pre-restore backup): it vouches for every backup it writes',
          ],
          [
            r.publicKeyFile,
            'variable or secret BACKUP_SIGNING_PUBLIC_KEY → input signing-public-key',
            'verify, restore, prune, monitor, notify: they act only on backups it authenticates',
          ],
        ]
      : [
          [
            r.publicKeyFile,
            'secret BACKUP_PUBLIC_KEY (repository or backup environment) → input encryption-public-key',
            'the backup job only: it can encrypt, never decrypt',
          ],
          [
            r.privateKeyFile,
            'secret BACKUP_PRIVATE_KEY in a protected environment (required reviewers) → input encryption-private-key',
            'restore-test, restore and dr-drill jobs',
          ],
        ];
    const notes = signing
      ? [
          `gh secret set BACKUP_SIGNING_KEY < ${r.privateKeyFile}${r.protectedByPassphrase ? '   (and BACKUP_SIGNING_KEY_PASSPHRASE → signing-key-passphrase)' : ''}`,
          `gh variable set BACKUP_SIGNING_PUBLIC_KEY < ${r.publicKeyFile}`,
          'Keep an offline copy of the private key; after a rotation keep the old public key in signing-public-key until its backups have aged out. Then delete the private key file from this machine.',
        ]
      : [
          `gh secret set BACKUP_PUBLIC_KEY < ${r.publicKeyFile}`,
          `gh secret set BACKUP_PRIVATE_KEY --env backup-restore < ${r.privateKeyFile}${r.protectedByPassphrase ? '   (and BACKUP_PRIVATE_KEY_PASSPHRASE → encryption-private-key-passphrase)' : ''}`,
          'Keep an offline copy of the private key (a password manager, a safe): without it no backup can be restored. Then delete the private key file from this machine.',
        ];
    return {
      outputs: { fingerprint: r.fingerprint, 'public-key-file': r.publicKeyFile, 'private-key-file': r.privateKeyFile },
      report: {
        title: signing ? 'OpenPGP signing key pair for postgres-dr' : 'OpenPGP key pair for postgres-dr',
        status: 'success',
        headline: `fingerprint ${r.fingerprint}`,
        facts: [
          ['Fingerprint', r.fingerprint],
          ['Purpose', signing ? 'signing manifests' : 'encryption'],
          [
            'Algorithm',
            signing
              ? r.algorithm === 'ed25519'
                ? 'ed25519 (certify, sign)'
                : 'RSA 4096 (certify, sign)'
              : r.algorithm === 'ed25519'
                ? 'ed25519 (certify) + cv25519 (encrypt)'
                : 'RSA 4096 + RSA 4096',
          ],
          ['User ID', r.uid],
          ['Public key', r.publicKeyFile],
          [
            'Private key',
            `${r.privateKeyFile} (${r.protectedByPassphrase ? 'passphrase-protected' : 'NOT passphrase-protected'})`,
          ],
        ],
        tables: [{ title: 'Where each file goes', header: ['File', 'Store it as', 'Used by'], rows }],
        notes,
      },
    };
  },
};
