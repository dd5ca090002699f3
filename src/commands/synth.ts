/** `pgdr synth`: authenticated synthetic backups at chosen past times, for tests and retention rehearsals. */

import { validateName } from '../core/layout.js';
import type { CommandResult, Report } from '../core/report.js';
import { parseSynthTimes, runSynth } from '../core/synth.js';
import { UserError } from '../util/errors.js';
import { formatTime } from '../util/units.js';
import type { Command } from './command.js';
import {
  destinationInputs,
  type InputGetter,
  parseList,
  readDestination,
  readEncryption,
  readSigner,
  SIGNING_INPUTS,
  storageFor,
} from './inputs.js';
import { boundInputs, type CommandSpec } from './schema.js';

export const synthSpec: CommandSpec = {
  name: 'synth',
  summary: 'write authenticated synthetic backups at past times (--at), for tests and retention rehearsals',
  inputs: {
    ...destinationInputs('s3://bucket/prefix, or a local directory path, as given to backup.', { required: true }),
    name: {
      description: 'The backup set to write into: one of its own (synth refuses a set that holds real backups).',
      required: true,
    },
    at: {
      description:
        'UTC times of the synthetic backups, like 2026-11-25T03:00:00Z: repeat --at, or give --at-file with one time a line. Times in the future are refused.',
      required: true,
      type: 'list',
    },
    encryption: {
      description: 'openpgp or none: which key authenticates, as for backup.',
      default: 'openpgp',
    },
    'encryption-passphrase': {
      description: 'The passphrase of the real set (its manifests are authenticated with it), as for backup.',
      secret: true,
    },
    'encryption-public-key': {
      description: 'As for backup: with it, signing-key authenticates.',
    },
    ...SIGNING_INPUTS,
  },
  outputs: {
    written: { description: 'Number of synthetic backups written.' },
    keys: { description: 'JSON array of their data object keys.' },
  },
};

export function readSynthConfig(raw: InputGetter, now = new Date()) {
  const get = boundInputs(synthSpec, raw);
  const destination = readDestination(get);
  if (!get('name')) throw new UserError(`'name' is required: the set to write synthetic backups into`);
  const name = validateName(get('name'));
  const times = parseSynthTimes(parseList(get('at')), now);
  const encryption = readEncryption(get);
  return {
    destination,
    config: { prefix: destination.destination.prefix, name, times, signer: readSigner(get, encryption) },
  };
}

export const synthCommand: Command = {
  spec: synthSpec,
  async run(get, ctx): Promise<CommandResult> {
    const { destination, config } = readSynthConfig(get);
    const r = await runSynth(config, { storage: storageFor(destination), log: ctx.log, signal: ctx.signal });
    return {
      outputs: { written: r.written.length, keys: JSON.stringify(r.written.map((b) => b.dataKey)) },
      report: synthReport(config.name, destination.destination.url, r.written),
    };
  },
};

export function synthReport(name: string, url: string, written: Array<{ createdAt: Date; dataKey: string }>): Report {
  return {
    title: `Synthetic backups of ${name}`,
    status: 'success',
    headline: `${written.length} synthetic backup(s) written (marked synthetic: never restored, never counted as fresh)`,
    facts: [
      ['Backup set', name],
      ['Destination', url],
      ['Written', String(written.length)],
    ],
    tables: [
      {
        title: 'Synthetic backups',
        header: ['Backup time', 'Object'],
        rows: written.map((b) => [formatTime(b.createdAt), b.dataKey]),
      },
    ],
  };
}
