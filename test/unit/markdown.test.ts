/** Hostile text in summaries and issues stays text: no fence escapes, images, mentions or fake headings. */
import { marked } from 'marked';
import { describe, expect, it } from 'vitest';
import { renderDetails, slackText } from '../../src/core/notify.js';
import { reportToMarkdown } from '../../src/core/report.js';
import { codeBlock, escapeMarkdown } from '../../src/util/markdown.js';

const HOSTILE = [
  '![x](https://tracker.example/p.png)',
  '@octocat please look',
  '```\n## pwned\n```',
  '~~~~\n<img src=https://tracker.example/q.png>\n~~~~',
  '| a | b |\n<details><summary>x</summary>',
  '[click](javascript:alert(1)) **bold** _it_ `code`',
];

function html(md: string): string {
  return marked.parse(md, { async: false }) as string;
}

describe('escapeMarkdown', () => {
  it.each(HOSTILE)('renders %j as its own text, with no element of its own', (text) => {
    const out = html(`| k | ${escapeMarkdown(text)} |\n|---|---|`);
    // A bare URL may become a link (GFM autolinks it; nothing loads until clicked), never an image.
    expect(out).not.toMatch(/<img|<h2|<details|<strong|<em>|<code|href="javascript/);
    // The visible text keeps every character (mentions only gain a zero-width space).
    const visible = out
      .replace(/<[^>]+>/g, '')
      .replace(/\u200b/g, '')
      .replace(/&amp;/g, '&')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      // An autolinked URL keeps the backslash that escaped the character after it: cosmetic.
      .replace(/\\/g, '');
    for (const word of text.split(/\s+/).filter((w) => /\w/.test(w)))
      expect(visible).toContain(word.replace(/\|/g, ''));
  });

  it('breaks mentions', () => {
    expect(escapeMarkdown('@octocat')).not.toMatch(/@octocat/);
  });
});

describe('codeBlock', () => {
  it.each(HOSTILE)('%j cannot close its fence', (text) => {
    const out = html(`${codeBlock(text, 'text')}\n\nafter`);
    expect(out.match(/<pre>/g)).toHaveLength(1);
    expect(out).toMatch(/<\/pre>\s*<p>after<\/p>/);
    expect(out).not.toMatch(/<img|<h2/);
  });
});

describe('where hostile text goes', () => {
  it('notify details as text and as a JSON object', () => {
    for (const text of HOSTILE) {
      expect(html(renderDetails(text))).not.toMatch(/<img|<h2|<a /);
      expect(html(renderDetails(JSON.stringify({ error: text })))).not.toMatch(/<img|<h2|href="javascript/);
    }
  });

  it('a report (job summary): title, headline, facts, tables and notes', () => {
    const md = reportToMarkdown({
      title: HOSTILE[2] as string,
      status: 'failure',
      headline: HOSTILE[0],
      facts: HOSTILE.map((h) => ['Error', h] as [string, string]),
      tables: [{ title: HOSTILE[1], header: ['a'], rows: HOSTILE.map((h) => [h]) }],
      notes: HOSTILE,
    });
    expect(html(md)).not.toMatch(/<img|href="javascript|<details|<h2>pwned|<h2>## pwned/);
  });
});

describe('slackText', () => {
  it('escapes what Slack would read as a mention or a link', () => {
    expect(slackText('permission denied for table "<!channel>" & <https://x|y>')).toBe(
      'permission denied for table "&lt;!channel&gt;" &amp; &lt;https://x|y&gt;',
    );
  });
});
