import { describe, expect, it } from 'vitest';
import { sendInitialEventsOf } from './list-options.js';

const q = (s: string) => new URLSearchParams(s);

describe('watch-list options', () => {
  it.each([
    { query: '', watching: true, want: undefined },
    { query: 'sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true', watching: true, want: true },
    { query: 'sendInitialEvents=True&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=1', watching: true, want: true },
    { query: 'sendInitialEvents=false&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true', watching: true, want: false },
  ])('$query → $want', ({ query, watching, want }) => {
    expect(sendInitialEventsOf(q(query), watching)).toBe(want);
  });

  it.each([
    { query: 'sendInitialEvents=true', watching: false, message: 'sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list' },
    {
      query: 'sendInitialEvents=true&allowWatchBookmarks=true',
      watching: true,
      message: 'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    },
    {
      query: 'sendInitialEvents=true&resourceVersionMatch=NotOlderThan',
      watching: true,
      message: 'allowWatchBookmarks: Forbidden: allowWatchBookmarks must be set to true when resourceVersionMatch is set',
    },
    {
      query: 'resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true',
      watching: true,
      message: 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
    },
  ])('refuses $query (watch: $watching)', ({ query, watching, message }) => {
    expect(() => sendInitialEventsOf(q(query), watching)).toThrow(expect.objectContaining({ code: 422 }));
    expect(() => sendInitialEventsOf(q(query), watching)).toThrow(message);
  });
});
