/**
 * Text from errors, storage and the database reaches job summaries and GitHub issues. As Markdown it could
 * close a code fence, embed an image (a request to any server, on every view), mention people or fake a
 * heading. These render it as the literal text it is.
 */

/** Markdown's inline punctuation backslash-escaped (# too: no heading, no issue link); @ broken by a zero-width space (no mention). */
export function escapeMarkdown(text: string, newline = ' '): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/[\\`*_{}[\]()<>#+!|~]/g, (c) => `\\${c}`).replace(/@(?=\w)/g, '@\u200b'))
    .join(newline);
}

/** A fenced code block that `text` cannot close: the fence is longer than any run of backticks in it. */
export function codeBlock(text: string, info = ''): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text}\n${fence}`;
}
