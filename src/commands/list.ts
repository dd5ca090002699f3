/** `pgdr list`: a set's backups (time, age, size, rows, format, keys, authenticated), for choosing one. */

import { validateName } from '../core/layout.js';
import { listBackups } from '../core/list.js';
import type { CommandResult } from '../core/report.js';
import { formatBytes, formatDuration } from '../util/units.js';
import type { Command } from './command.js';
import {
  AUTH_PASSPHRASE_INPUT,
  destinationInputs,
  readAuthKeys,
  readDestination,
  SIGNING_PUBLIC_KEY_INPUT,
  storageFor,
} from './inputs.js';
import { boundInputs, type CommandSpec, type InputGetter } from './schema.js';

export const listSpec: CommandSpec = {
  name: 'list',
  summary: "list a set's backups, newest first (--json: an array), authenticated or not",
  inputs: {
    ...destinationInputs('s3://bucket/prefix, or a local directory path: the same as given to backup.', {
      required: true,
    }),
    name: { description: 'Only this backup set. Default: every set under the destination.' },
    ...AUTH_PASSPHRASE_INPUT,
    ...SIGNING_PUBLIC_KEY_INPUT,
  },
  outputs: {
    backups: { description: 'Number of backups listed.' },
    unauthenticated: { description: 'Number of them whose manifest did not authenticate.' },
  },
};

export function readListConfig(raw: InputGetter) {
  const get = boundInputs(listSpec, raw);
  const destination = readDestination(get);
  const name = get('name') ? validateName(get('name')) : undefined;
  return { destination, config: { prefix: destination.destination.prefix, name, authKeys: readAuthKeys(get) } };
}

export const listCommand: Command = {
  spec: listSpec,
  async run(get, ctx): Promise<CommandResult> {
    const { destination, config } = readListConfig(get);
    const keyGiven = Boolean(config.authKeys.passphrases?.length || config.authKeys.signingPublicKeys?.length);
    const list = await listBackups(config, { storage: storageFor(destination), signal: ctx.signal });
    const unauthenticated = list.filter((b) => !b.authenticated).length;
    const warnings = unauthenticated
      ? [
          keyGiven
            ? `${unauthenticated} manifest(s) did not authenticate with the keys given: verify and restore will not use them`
            : `no 'encryption-passphrase' or 'signing-public-key' given: nothing could be authenticated`,
        ]
      : [];
    return {
      outputs: { backups: list.length, unauthenticated },
      json: list,
      warnings,
      report: {
        title: `Backups in ${destination.destination.url}${config.name ? ` (set ${config.name})` : ''}`,
        status: unauthenticated ? 'warning' : 'success',
        headline: `${list.length} backup(s), newest first${unauthenticated ? `; ${unauthenticated} not authenticated` : ''}`,
        facts: [],
        tables: [
          {
            header: [
              'time',
              'age',
              'size',
              'rows',
              'format',
              'compression',
              'encryption',
              'key id',
              'authenticated',
              'synthetic',
              'key',
            ],
            rows: list.map((b) => [
              b.createdAt,
              formatDuration(b.ageSeconds),
              formatBytes(b.size),
              String(b.rows),
              b.format,
              b.compression,
              b.encryption,
              b.keyId ? b.keyId.slice(0, 16) : '-',
              b.authenticated ? 'yes' : `NO (${b.reason ?? 'not authenticated'})`,
              b.synthetic ? 'yes' : 'no',
              b.key,
            ]),
          },
        ],
      },
    };
  },
};
