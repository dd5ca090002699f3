/** `pgdr keys`: which key each kept backup needs, so an old key is retired only when nothing needs it. */

import { countPrivateKeyBlocks, parsePassphrases } from '../core/backups/decrypt.js';
import { type KeyReport, readKeyReport } from '../core/keys.js';
import { validateName } from '../core/layout.js';
import type { CommandResult, Report } from '../core/report.js';
import { UserError } from '../util/errors.js';
import { formatTime } from '../util/units.js';
import type { Command } from './command.js';
import { destinationInputs, readAuthKeys, readDestination, SIGNING_PUBLIC_KEY_INPUT, storageFor } from './inputs.js';
import { boundInputs, type CommandSpec, type InputGetter } from './schema.js';

export function readKeysConfig(raw: InputGetter): {
  destination: ReturnType<typeof readDestination>;
  name?: string;
  passphrases: string[];
  privateKey?: string;
  signingPublicKeys: string[];
} {
  const get = boundInputs(keysSpec, raw);
  const destination = readDestination(get);
  const name = get('name') ? validateName(get('name')) : undefined;
  const passphrases = parsePassphrases(get('encryption-passphrase'));
  const privateKey = get('encryption-private-key') || undefined;
  if (privateKey && countPrivateKeyBlocks(privateKey) === 0) {
    throw new UserError(
      `'encryption-private-key' must hold ASCII-armored OpenPGP private keys (-----BEGIN PGP PRIVATE KEY BLOCK-----)`,
    );
  }
  const signingPublicKeys = readAuthKeys(get).signingPublicKeys ?? [];
  return { destination, name, passphrases, privateKey, signingPublicKeys };
}

export const keysSpec: CommandSpec = {
  name: 'keys',
  summary: 'list which encryption key each kept backup needs (for key rotation)',
  inputs: {
    ...destinationInputs('s3://bucket/prefix, or a local directory path: the same as given to backup.', {
      required: true,
    }),
    name: { description: 'Only this backup set. Default: every set under the destination.' },
    'encryption-passphrase': {
      description:
        'Passphrases to check the backups against, one per line: each backup says whether one of them opens it.',
      secret: true,
      type: 'text',
    },
    'encryption-private-key': {
      description: 'ASCII-armored OpenPGP private key(s) to check the backups against.',
      secret: true,
      type: 'text',
    },
    ...SIGNING_PUBLIC_KEY_INPUT,
  },
  outputs: {
    backups: { description: 'Number of backups read.' },
    keys: { description: 'Number of distinct keys the backups need.' },
    unopenable: { description: 'Number of backups none of the given keys opens.' },
    'key-usage': { description: 'JSON array: each key, and the backups that need it.' },
  },
};

export const keysCommand: Command = {
  spec: keysSpec,
  async run(get, ctx): Promise<CommandResult> {
    const cfg = readKeysConfig(get);
    const storage = storageFor(cfg.destination);
    const where = cfg.destination.destination.url + (cfg.name ? ` (set ${cfg.name})` : '');
    ctx.log.info(`reading the backups in ${where}`);
    const r = await readKeyReport(storage, cfg.destination.destination.prefix, cfg.name, {
      passphrases: cfg.passphrases,
      privateKey: cfg.privateKey,
      signingPublicKeys: cfg.signingPublicKeys,
    });
    const checked = cfg.passphrases.length > 0 || Boolean(cfg.privateKey);
    const warnings =
      r.unopenable > 0 ? [`${r.unopenable} kept backup(s) cannot be opened with any of the given keys`] : [];
    return {
      outputs: {
        backups: r.backups,
        keys: r.usage.length,
        unopenable: r.unopenable,
        'key-usage': JSON.stringify(r.usage),
      },
      warnings,
      report: keysReport(r, { where, name: cfg.name, checked, passphrasesGiven: cfg.passphrases.length > 0 }),
    };
  },
};

export function keysReport(
  r: KeyReport,
  o: { where: string; name?: string; checked: boolean; passphrasesGiven: boolean },
): Report {
  const notes: string[] = [];
  if (r.unused.length) {
    notes.push(`No kept backup needs ${r.unused.join(', ')}: it can be retired from the decryption keys.`);
  }
  if (r.usage.some((u) => u.scheme === 'openpgp-passphrase') && !o.passphrasesGiven) {
    notes.push(
      'Passphrase digests are salted per backup: give encryption-passphrase (one per line) to see which passphrase each backup needs.',
    );
  }
  return {
    title: `Encryption keys in ${o.where}`,
    status: r.unopenable > 0 ? 'warning' : 'success',
    headline: `${r.backups} backup(s) use ${r.usage.length} key(s)${o.checked ? `; ${r.unopenable} cannot be opened with the given keys` : ''}`,
    facts: [
      ['Backup sets', o.name ?? 'all under the destination'],
      ['Backups read', r.backups.toLocaleString('en-US')],
      ['Keys needed', String(r.usage.length)],
    ],
    tables: [
      {
        title: 'Keys',
        header: o.checked
          ? ['Key', 'Backups', 'Oldest', 'Newest', 'Example', 'Given key opens them']
          : ['Key', 'Backups', 'Oldest', 'Newest', 'Example'],
        rows: r.usage.map((u) => {
          const row = [u.key, String(u.count), formatTime(u.oldest), formatTime(u.newest), u.example];
          if (o.checked) row.push(u.available === undefined ? 'not checked' : u.available ? '✅ yes' : '❌ NO');
          return row;
        }),
      },
    ],
    notes,
  };
}
