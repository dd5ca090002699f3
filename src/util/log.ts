/** The logging port the core writes to; the actions map it onto @actions/core, the CLI onto stderr. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  /** Runs `fn` inside a collapsible log group where the host supports it. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Text that reaches the Actions log raw (core.info, or stderr the runner also reads) may carry words of
 * others — a child's stderr, names from a dump or a bucket — and the runner obeys any line that starts
 * with `::` (after blanks) as a workflow command, `##[` anywhere as a legacy one. Such lines get a
 * visible prefix, and `##[` a space, so they are printed, not obeyed.
 */
export function neutraliseWorkflowCommands(text: string): string {
  // The runner reads its output a line at a time as .NET does: \n, \r\n and a lone \r all end a line.
  return text.replace(/(^|\r\n|\r|\n)(\s*::)/g, '$1| $2').replace(/##\[/g, '## [');
}

export const silentLogger: Logger = {
  info() {},
  warn() {},
  debug() {},
  group: (_t, fn) => fn(),
};

export function consoleLogger(verbose = false): Logger {
  return {
    info: (m) => console.error(neutraliseWorkflowCommands(m)),
    warn: (m) => console.error(neutraliseWorkflowCommands(`warning: ${m}`)),
    debug: (m) => {
      if (verbose) console.error(neutraliseWorkflowCommands(`debug: ${m}`));
    },
    async group(title, fn) {
      console.error(neutraliseWorkflowCommands(`== ${title}`));
      return fn();
    },
  };
}
