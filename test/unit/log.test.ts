/** Text the Actions log prints raw cannot become a workflow command, whatever ends its lines. */
import { describe, expect, it } from 'vitest';
import { neutraliseWorkflowCommands } from '../../src/util/log.js';

describe('neutraliseWorkflowCommands', () => {
  it.each([
    ['::add-mask::x', '| ::add-mask::x'],
    ['  ::stop-commands::t', '|   ::stop-commands::t'],
    ['a\n::error::b', 'a\n| ::error::b'],
    ['a\r\n::error::b', 'a\r\n| ::error::b'],
    ['a\r::error::b', 'a\r| ::error::b'],
    ['x ##[group]y', 'x ## [group]y'],
    ['plain text :: with colons', 'plain text :: with colons'],
  ])('%j → %j', (text, expected) => {
    expect(neutraliseWorkflowCommands(text)).toBe(expected);
  });

  it('leaves no line, split as the runner splits, that starts with ::', () => {
    const out = neutraliseWorkflowCommands('a\r::x::1\n::y::2\r\n\t::z::3');
    for (const line of out.split(/\r\n|\r|\n/)) expect(line).not.toMatch(/^\s*::/);
  });
});
