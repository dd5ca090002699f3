/**
 * Text from errors, storage and the database reaches job summaries and GitHub issues. As Markdown it could
 * close a code fence, embed an image (a request to any server, on every view), mention people or fake a
 * heading. These render it as the literal text it is.
 */

/** Markdown's inline punctuation backslash-escaped (# too: no heading, no issue link); @ broken by a zero-width space (no mention). */
export function escapeMarkdown(text: string, newline = ' '): string {
  return text
    .split(/\r?\n/)
    .map((line) =>
      line
        // Enough to make every construct inert: no link or image without [ ], no HTML without <, no
        // emphasis, code, table cell or strike-through; parentheses, dots and the like stay readable.
        .replace(/[\\`*[\]<>#!|~]/g, (c) => `\\${c}`)
        // _ emphasises only at a word boundary (GFM): table_name stays as it is, _x_ does not.
        .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
        .replace(/@(?=\w)/g, '@\u200b'),
    )
    .join(newline);
}

/** A fenced code block that `text` cannot close: the fence is longer than any run of backticks in it. */
export function codeBlock(text: string, info = ''): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text}\n${fence}`;
}
