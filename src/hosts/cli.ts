/**
 * pgdr — the same commands as the actions, for local and ad-hoc use.
 *
 *   pgdr backup --database-url postgres://… --output ./backups
 *   pgdr verify --destination s3://bucket/prefix --backup latest
 *
 * Every action input is a flag of the same name (--compression zstd), or an environment variable
 * PGDR_<NAME> (PGDR_ENCRYPTION_PASSPHRASE), or read from a file with --<name>-file PATH. Secrets are
 * refused on the command line, where any user of the machine could read them.
 */
import fs from 'node:fs';
import { COMMANDS } from '../commands/index.js';
import type { InputGetter } from '../commands/inputs.js';
import { reportToText } from '../core/report.js';
import { CancelledError, describeError, UserError } from '../util/errors.js';
import { consoleLogger, neutraliseWorkflowCommands } from '../util/log.js';
import { startMemoryGovernor } from '../util/memory.js';
import { redact } from '../util/secrets.js';

const SECRET_INPUTS = /passphrase|private-key|password|token|webhook-url/;
const ALIASES: Record<string, string> = { output: 'destination', o: 'destination' };

function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  ${c.name.padEnd(9)} ${c.description}`);
  return [
    'usage: pgdr <command> [--<input> VALUE | --<input>-file PATH]... [--json] [--verbose]',
    '',
    'commands:',
    ...lines,
    '',
    "Inputs are the actions' inputs (see README). Each can also be given as PGDR_<INPUT> in the",
    'environment, e.g. PGDR_ENCRYPTION_PASSPHRASE. Secrets are accepted only from the environment or a file.',
  ].join('\n');
}

export function parseCliArgs(argv: string[]): {
  command: string;
  flags: Map<string, string>;
  json: boolean;
  verbose: boolean;
} {
  const [command = '', ...rest] = argv;
  const flags = new Map<string, string>();
  let json = false;
  let verbose = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--json') {
      json = true;
      continue;
    }
    if (arg === '--verbose' || arg === '-v') {
      verbose = true;
      continue;
    }
    const m = /^--?([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new UserError(`unexpected argument '${arg}'; flags look like --name value`);
    let name = m[1] as string;
    let value = m[2];
    if (value === undefined) {
      const next = rest[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        value = 'true';
      } else {
        value = next;
        i++;
      }
    }
    name = ALIASES[name] ?? name;
    if (name.endsWith('-file') && name !== 'backup-file') {
      const input = ALIASES[name.slice(0, -5)] ?? name.slice(0, -5);
      flags.set(input, fs.readFileSync(value, 'utf8').replace(/\r?\n$/, ''));
      continue;
    }
    if (SECRET_INPUTS.test(name)) {
      throw new UserError(
        `--${name} would put a secret on the command line; use PGDR_${name.toUpperCase().replace(/-/g, '_')} or --${name}-file PATH`,
      );
    }
    if (name === 'database-url' && /:\/\/[^/@]*:[^/@]*@/.test(value)) {
      throw new UserError(
        `--database-url holds a password; use PGDR_DATABASE_URL, --database-url-file PATH, PGPASSWORD or ~/.pgpass`,
      );
    }
    flags.set(name, value);
  }
  return { command, flags, json, verbose };
}

/** Redacted, and no line a runner would obey as a workflow command (pgdr may run inside a workflow). */
function safe(text: string): string {
  return neutraliseWorkflowCommands(redact(text));
}

export async function runCli(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(argv);
  } catch (err) {
    console.error(`pgdr: ${redact(describeError(err))}`);
    return 2;
  }
  if (!parsed.command || parsed.command === 'help' || parsed.flags.has('help')) {
    console.log(usage());
    return parsed.command ? 0 : 2;
  }
  const command = COMMANDS[parsed.command];
  if (!command) {
    console.error(`pgdr: unknown command '${parsed.command}'\n\n${usage()}`);
    return 2;
  }
  const get: InputGetter = (name) => {
    const flag = parsed.flags.get(name);
    if (flag !== undefined) return flag.trim();
    return (process.env[`PGDR_${name.toUpperCase().replace(/-/g, '_')}`] ?? '').trim();
  };
  const controller = new AbortController();
  const onSignal = (sig: string): void => {
    console.error(`pgdr: ${sig}: cancelling and cleaning up`);
    controller.abort(new CancelledError(`cancelled by ${sig}`));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  const stopGovernor = startMemoryGovernor();
  try {
    const result = await command.run(get, {
      log: {
        ...consoleLogger(parsed.verbose),
        info: (m) => console.error(safe(m)),
        warn: (m) => console.error(`warning: ${safe(m)}`),
      },
      signal: controller.signal,
    });
    for (const w of result.warnings ?? []) console.error(`warning: ${safe(w)}`);
    if (parsed.json) console.log(safe(JSON.stringify(result.outputs, null, 2)));
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
