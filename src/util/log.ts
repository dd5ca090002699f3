/** The logging port the core writes to; the actions map it onto @actions/core, the CLI onto stderr. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  /** Runs `fn` inside a collapsible log group where the host supports it. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

export const silentLogger: Logger = {
  info() {},
  warn() {},
  debug() {},
  group: (_t, fn) => fn(),
};

export function consoleLogger(verbose = false): Logger {
  return {
    info: (m) => console.error(m),
    warn: (m) => console.error(`warning: ${m}`),
    debug: (m) => {
      if (verbose) console.error(`debug: ${m}`);
    },
    async group(title, fn) {
      console.error(`== ${title}`);
      return fn();
    },
  };
}
