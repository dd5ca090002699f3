/** The input schema: defaults, secrecy and declared names (boundInputs), and the CLI built from it. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMAND_LIST, COMMANDS } from '../../src/commands/index.js';
import { readPruneConfig } from '../../src/commands/prune.js';
import { boundInputs, type CommandSpec, UndeclaredInputError } from '../../src/commands/schema.js';
import { commandUsage, parseCliArgs, runCli, usage } from '../../src/hosts/cli.js';
import { redact } from '../../src/util/secrets.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'a demo',
  inputs: {
    level: { description: 'a level', default: '3' },
    key: { description: 'a secret', secret: true },
  },
  outputs: {},
};

describe('boundInputs', () => {
  it('applies the schema default to an empty input and keeps a given one', () => {
    const get = boundInputs(spec, (n) => (n === 'level' ? '  ' : ''));
    expect(get('level')).toBe('3');
    expect(boundInputs(spec, () => '7 ')('level')).toBe('7');
  });
  it('throws for an input the schema does not declare (a typo in a reader fails every test that runs it)', () => {
    const get = boundInputs(spec, () => '');
    expect(() => get('levle')).toThrow(UndeclaredInputError);
  });
  it('registers a secret input for redaction as it is read', () => {
    const value = `s3cr3t-${Math.random()}`;
    boundInputs(spec, () => value)('key');
    expect(redact(`token ${value} here`)).not.toContain(value);
  });
});

describe.each(COMMAND_LIST.map((c) => [c.spec.name, c.spec] as const))('the %s schema', (_name, s) => {
  it('has kebab-case names, descriptions, and no default on a required input', () => {
    for (const [name, input] of Object.entries(s.inputs)) {
      expect(name).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(input.description.length).toBeGreaterThan(10);
      if (input.required) expect(input.default).toBeUndefined();
    }
    for (const [name, output] of Object.entries(s.outputs)) {
      expect(name).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      expect(output.description.length).toBeGreaterThan(5);
    }
  });
  it('marks every key, passphrase, token and password input secret', () => {
    for (const [name, input] of Object.entries(s.inputs)) {
      if (/passphrase|private-key|password|token|webhook-url|signing-key$/.test(name)) expect(input.secret).toBe(true);
    }
  });
});

describe('prune reads its defaults from the schema', () => {
  it('an empty getter gives the documented policy', () => {
    const { config } = readPruneConfig(
      (n) => ({ destination: '/tmp/x', name: 'db', 'encryption-passphrase': 'a passphrase' })[n] ?? '',
    );
    const s = COMMANDS.prune?.spec as CommandSpec;
    expect(config.policy).toEqual({
      last: Number(s.inputs['keep-last']?.default),
      daily: Number(s.inputs['keep-daily']?.default),
      weekly: Number(s.inputs['keep-weekly']?.default),
      monthly: Number(s.inputs['keep-monthly']?.default),
      yearly: Number(s.inputs['keep-yearly']?.default),
    });
    expect(config.dryRun).toBe(false);
  });
});

describe('pgdr flags', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    [['prune', '--keep-daly', '3', '--dry-run'], /unknown flag --keep-daly for 'prune'; did you mean --keep-daily\?/],
    [['backup', '--compresion', 'zstd'], /did you mean --compression\?/],
    [['bakup'], /unknown command 'bakup'; did you mean backup\?/],
    [['backup', '--encryption-passphrase', 'x'], /PGDR_ENCRYPTION_PASSPHRASE or --encryption-passphrase-file/],
    [['backup', '--database-url', 'postgres://u:pw@h/db'], /holds a password/],
    [['backup', '--name'], /--name needs a value/],
    [['backup', 'stray'], /unexpected argument 'stray'/],
    [['keygen', '--destination', '/tmp/x'], /unknown flag --destination for 'keygen'/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(message);
  });

  it('maps aliases, -file and bare booleans', () => {
    const p = parseCliArgs(['prune', '-o', '/b', '--name', 'db', '--dry-run', '--keep-daily=3', '--json']);
    expect(Object.fromEntries(p.flags)).toEqual({
      destination: '/b',
      name: 'db',
      'dry-run': 'true',
      'keep-daily': '3',
    });
    expect(p.json).toBe(true);
    expect(Object.fromEntries(parseCliArgs(['prune', '--dry-run', 'false']).flags)).toEqual({ 'dry-run': 'false' });
    expect(parseCliArgs(['keygen', '--output', '/k']).flags.get('output')).toBe('/k');
  });

  it('an unknown flag exits 2 before anything runs', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await runCli(['prune', '--keep-daly', '3', '--dry-run'])).toBe(2);
    expect(err.mock.calls.join('\n')).toMatch(/did you mean --keep-daily/);
  });

  it('--help lists the commands, and <command> --help its flags with defaults', async () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await runCli(['--help'])).toBe(0);
    for (const c of COMMAND_LIST) expect(out.mock.calls.at(-1)?.[0]).toContain(c.spec.name);
    expect(await runCli(['backup', '--help'])).toBe(0);
    const text = String(out.mock.calls.at(-1)?.[0]);
    expect(text).toMatch(/--compression VALUE\s+\(default gzip\)/);
    expect(text).toMatch(
      /--encryption-passphrase VALUE\s+\(secret: PGDR_ENCRYPTION_PASSPHRASE or --encryption-passphrase-file\)/,
    );
    expect(usage()).toMatch(/pgdr <command> --help/);
    expect(commandUsage(COMMANDS.prune as never)).toContain('--keep-daily VALUE  (default 7)');
  });
});
