/**
 * The input schema: each command declares its inputs and outputs once, here in TypeScript. From it come
 * the getter's defaults and secrecy (boundInputs), the CLI's flags and --help (hosts/cli.ts), and — by
 * scripts/generate.mjs — every actions/<name>/action.yml, the root action.yml and the input/output tables
 * of actions/<name>/README.md. Adding an input is one entry in the command's schema.
 */
import { registerSecret } from '../util/secrets.js';

export type InputType = 'string' | 'boolean' | 'integer' | 'number' | 'duration' | 'size' | 'list' | 'text';

export interface InputSpec {
  description: string;
  /** Applied when the input is empty, by the action (action.yml) and the CLI alike. */
  default?: string;
  /** A default only the action has, e.g. `${{ github.token }}`; the CLI falls back otherwise. */
  actionDefault?: string;
  /** Must be given (the command's reader also says so, naming what to pass). */
  required?: boolean;
  /**
   * `true`: masked in logs and refused on the CLI's command line (environment or --<name>-file only).
   * `'url-credentials'`: a URL that may hold a password (masked; refused on the command line when it does).
   */
  secret?: true | 'url-credentials';
  type?: InputType;
  /** The values a choice input accepts (shown in --help and the docs). */
  choices?: readonly string[];
  /** CLI-only spelling, e.g. `output` for keygen's directory. */
  cliAliases?: readonly string[];
}

export interface OutputSpec {
  description: string;
}

/** How the command appears as a GitHub Action (absent for CLI-only commands). */
export interface ActionMeta {
  name: string;
  description: string;
  icon: string;
  color: string;
}

export interface CommandSpec {
  name: string;
  /** One line for `pgdr --help`. */
  summary: string;
  action?: ActionMeta;
  inputs: Record<string, InputSpec>;
  outputs: Record<string, OutputSpec>;
  /**
   * The closed set of `failure-kind` values (kind → when), for commands that are actions; the hosts set
   * `error` and `failure-kind` on every failure (see failureOutputs).
   */
  failureKinds?: Record<string, string>;
}

/** The kinds every action shares: bad input, cancelled run, and an error no rule recognises. */
export const COMMON_FAILURE_KINDS: Record<string, string> = {
  config: 'an input or the environment is wrong (nothing was touched)',
  cancelled: 'the run was cancelled',
  other: 'an unexpected error (read the log)',
};

/** The `error` and `failure-kind` outputs, with the kinds listed (so each action's README lists them). */
export function failureOutputs(kinds: Record<string, string>): Record<string, OutputSpec> {
  const list = Object.entries(kinds)
    .map(([k, when]) => `${k} (${when})`)
    .join('; ');
  return {
    error: {
      description: "On failure: the root cause in one line, secrets redacted (for notify's `error`); empty on success.",
    },
    'failure-kind': { description: `On failure, why, one of: ${list}. Empty on success.` },
  };
}

/** Returns the raw value of an input (kebab-case name), or '' when not given. */
export type InputGetter = (name: string) => string;

/** A programming error: a reader asked for an input its command's schema does not declare. */
export class UndeclaredInputError extends Error {}

/**
 * Wraps a host's raw getter with the schema: undeclared names throw (so a typo in a reader fails every
 * test that runs it), empty values take the schema's default, and secret values are registered for
 * redaction the moment they are read.
 */
export function boundInputs(spec: CommandSpec, raw: InputGetter): InputGetter {
  return (name) => {
    const input = spec.inputs[name];
    if (!input)
      throw new UndeclaredInputError(`'${spec.name}' reads input '${name}', which its schema does not declare`);
    const value = raw(name).trim();
    if (input.secret && value) registerSecret(value);
    return value !== '' ? value : (input.default ?? '');
  };
}

/** The names of a command's inputs that are secrets on the command line (always, or when they hold a password). */
export function isSecretOnCommandLine(input: InputSpec, value: string): boolean {
  if (input.secret === true) return true;
  if (input.secret === 'url-credentials') return /:\/\/[^/@]*:[^/@]*@/.test(value);
  return false;
}
