/**
 * pgdr — the same commands as the actions, for local and ad-hoc use.
 *
 *   pgdr backup --database-url postgres://… --output ./backups
 *   pgdr verify --destination s3://bucket/prefix --backup latest
 *
 * Each command's flags are its schema's inputs (src/commands/<name>.ts): --<input> VALUE, or the environment
 * variable PGDR_<INPUT> (PGDR_ENCRYPTION_PASSPHRASE), or a file with --<input>-file PATH. Secrets are refused
 * on the command line, where any user of the machine could read them. Unknown flags are refused with a
 * suggestion (exit 2): a mistyped flag of the command that deletes backups must not fall back to a default.
 */
import fs from 'node:fs';
import type { Command } from '../commands/command.js';
import { COMMAND_LIST, COMMANDS } from '../commands/index.js';
import { boundInputs, type InputGetter, type InputSpec, isSecretOnCommandLine } from '../commands/schema.js';
import { reportToText } from '../core/report.js';
import { CancelledError, describeError, UserError } from '../util/errors.js';
import { consoleLogger, neutraliseWorkflowCommands } from '../util/log.js';
import { startMemoryGovernor } from '../util/memory.js';
import { redact } from '../util/secrets.js';

/** Flags every command takes besides its inputs. */
const GLOBAL_FLAGS: Record<string, string> = {
  json: 'print the outputs as JSON instead of the report',
  verbose: 'log debug detail (alias -v)',
  help: 'show this help (alias -h)',
};

export function envName(input: string): string {
  return `PGDR_${input.toUpperCase().replace(/-/g, '_')}`;
}

export function usage(): string {
  const width = Math.max(...COMMAND_LIST.map((c) => c.spec.name.length)) + 2;
  return [
    'usage: pgdr <command> [--<input> VALUE | --<input>-file PATH]... [--json] [--verbose]',
    '',
    'commands:',
    ...COMMAND_LIST.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    "Run 'pgdr <command> --help' for its flags. Every flag can also be given as PGDR_<INPUT> in the",
    'environment (PGDR_ENCRYPTION_PASSPHRASE); secrets are accepted only from the environment or a file.',
  ].join('\n');
}

function wrap(text: string, indent: number, width = 100): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out.map((l) => ' '.repeat(indent) + l);
}

function flagLine(name: string, input: InputSpec): string {
  const value = input.type === 'boolean' ? '[true|false]' : input.choices ? input.choices.join('|') : 'VALUE';
  const notes = [
    input.required ? 'required' : '',
    input.default ? `default ${input.default}` : '',
    input.secret === true ? `secret: ${envName(name)} or --${name}-file` : '',
    input.cliAliases?.length
      ? `alias ${input.cliAliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`)).join(', ')}`
      : '',
  ].filter(Boolean);
  return `  --${name} ${value}${notes.length ? `  (${notes.join('; ')})` : ''}`;
}

export function commandUsage(command: Command): string {
  const { spec } = command;
  const lines = [
    `usage: pgdr ${spec.name} [flags]`,
    '',
    ...wrap(spec.action?.description ?? spec.summary, 0),
    '',
    'flags:',
  ];
  for (const [name, input] of Object.entries(spec.inputs)) {
    lines.push(flagLine(name, input), ...wrap(input.description, 6));
  }
  lines.push('', 'global flags:', ...Object.entries(GLOBAL_FLAGS).map(([f, d]) => `  --${f}  ${d}`));
  if (Object.keys(spec.outputs).length) {
    lines.push('', `outputs (--json): ${Object.keys(spec.outputs).join(', ')}`);
  }
  return lines.join('\n');
}

/** Damerau-free edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

function suggest(name: string, candidates: string[]): string {
  const best = candidates
    .map((c) => ({ c, d: distance(name, c) }))
    .filter(({ c, d }) => d <= Math.max(2, Math.floor(c.length / 3)))
    .sort((x, y) => x.d - y.d)[0];
  return best ? `; did you mean --${best.c}?` : '';
}

export interface ParsedArgs {
  command: string;
  flags: Map<string, string>;
  json: boolean;
  verbose: boolean;
  help: boolean;
}

/**
 * Parses `pgdr <command> …` against the command's schema. Throws a UserError (exit 2) for an unknown
 * command or flag, a secret on the command line, or a flag without its value.
 */
export function parseCliArgs(argv: string[]): ParsedArgs {
  const [first = '', ...rest] = argv;
  const result: ParsedArgs = { command: '', flags: new Map(), json: false, verbose: false, help: false };
  if (first === '' || first === 'help' || first === '--help' || first === '-h') {
    result.help = true;
    const topic = rest[0];
    if (topic && COMMANDS[topic]) result.command = topic;
    return result;
  }
  const command = COMMANDS[first];
  if (!command) {
    throw new UserError(`unknown command '${first}'${suggest(first, Object.keys(COMMANDS)).replace('--', '')}`);
  }
  result.command = first;
  const inputs = command.spec.inputs;
  const aliases = new Map<string, string>();
  for (const [name, input] of Object.entries(inputs)) for (const a of input.cliAliases ?? []) aliases.set(a, name);
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const m = /^(--?)([a-z0-9][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!m)
      throw new UserError(`unexpected argument '${arg}'; flags look like --name value (see pgdr ${first} --help)`);
    const [, dashes, given, inline] = m as unknown as [string, string, string, string | undefined];
    if (given === 'json' || given === 'verbose' || given === 'v' || given === 'help' || given === 'h') {
      if (inline !== undefined) throw new UserError(`--${given} takes no value`);
      if (given === 'json') result.json = true;
      else if (given === 'help' || given === 'h') result.help = true;
      else result.verbose = true;
      continue;
    }
    if (dashes === '-' && given.length > 1) throw new UserError(`'${arg}': long flags take two dashes (--${given})`);
    let fromFile = false;
    let name = aliases.get(given) ?? given;
    if (!(name in inputs) && name.endsWith('-file')) {
      const base = aliases.get(name.slice(0, -5)) ?? name.slice(0, -5);
      if (base in inputs) {
        name = base;
        fromFile = true;
      }
    }
    const input = inputs[name];
    if (!input) {
      throw new UserError(
        `unknown flag --${given} for '${first}'${suggest(given, [...Object.keys(inputs), ...Object.keys(GLOBAL_FLAGS)])} (see pgdr ${first} --help)`,
      );
    }
    let value = inline;
    if (value === undefined) {
      const next = rest[i + 1];
      if (
        input.type === 'boolean' &&
        !fromFile &&
        (next === undefined || !/^(true|false|yes|no|1|0|on|off)$/i.test(next))
      ) {
        value = 'true';
      } else if (next === undefined || (next.startsWith('-') && next.length > 1 && !/^-\d/.test(next))) {
        throw new UserError(`--${given} needs a value${fromFile ? ' (a file path)' : ''}`);
      } else {
        value = next;
        i++;
      }
    }
    if (fromFile) {
      result.flags.set(name, fs.readFileSync(value, 'utf8').replace(/\r?\n$/, ''));
      continue;
    }
    if (isSecretOnCommandLine(input, value)) {
      throw new UserError(
        input.secret === true
          ? `--${name} would put a secret on the command line; use ${envName(name)} or --${name}-file PATH`
          : `--${name} holds a password; use ${envName(name)}, --${name}-file PATH, PGPASSWORD or ~/.pgpass`,
      );
    }
    // A list input may be repeated (--at T1 --at T2): the values join one a line.
    const previous = result.flags.get(name);
    result.flags.set(name, input.type === 'list' && previous !== undefined ? `${previous}\n${value}` : value);
  }
  return result;
}

/** Redacted, and no line a runner would obey as a workflow command (pgdr may run inside a workflow). */
function safe(text: string): string {
  return neutraliseWorkflowCommands(redact(text));
}

export async function runCli(argv: string[]): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseCliArgs(argv);
  } catch (err) {
    console.error(`pgdr: ${redact(describeError(err))}`);
    return 2;
  }
  if (parsed.help) {
    const command = parsed.command ? COMMANDS[parsed.command] : undefined;
    console.log(command ? commandUsage(command) : usage());
    return argv.length ? 0 : 2;
  }
  const command = COMMANDS[parsed.command] as Command;
  const raw: InputGetter = (name) => {
    const flag = parsed.flags.get(name);
    if (flag !== undefined) return flag.trim();
    return (process.env[envName(name)] ?? '').trim();
  };
  const controller = new AbortController();
  const onSignal = (sig: string): void => {
    console.error(`pgdr: ${sig}: cancelling and cleaning up`);
    controller.abort(new CancelledError(`cancelled by ${sig}`));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  const stopGovernor = command.streaming ? startMemoryGovernor() : () => {};
  try {
    const result = await command.run(boundInputs(command.spec, raw), {
      log: {
        ...consoleLogger(parsed.verbose),
        info: (m) => console.error(safe(m)),
        warn: (m) => console.error(`warning: ${safe(m)}`),
      },
      signal: controller.signal,
    });
    for (const w of result.warnings ?? []) console.error(`warning: ${safe(w)}`);
    if (parsed.json) console.log(safe(JSON.stringify(result.json ?? result.outputs, null, 2)));
    else console.log(safe(reportToText(result.report)));
    if (result.failure) {
      console.error(`pgdr: ${safe(result.failure)}`);
      return 1;
    }
    return 0;
  } catch (err) {
    console.error(`pgdr ${parsed.command}: ${safe(err instanceof UserError ? err.message : describeError(err))}`);
    return err instanceof UserError ? 2 : 1;
  } finally {
    stopGovernor();
  }
}
