import { describe, expect, it } from 'vitest';
import { parseScenario } from './scenario.js';

describe('chaos scenarios', () => {
  it('reads verbs, waits and watch options', () => {
    const text = 'steps:\n  - kill: node-2\n    watch: true\n    timeout: 30s\n  - wait: 5s\n  - start: node-2\n  - restart: scheduler\n';
    expect(parseScenario(text)).toEqual([
      { verb: 'kill', target: 'node-2', watch: true, timeoutMs: 30_000 },
      { wait: 5000 },
      { verb: 'start', target: 'node-2', watch: false, timeoutMs: 60_000 },
      { verb: 'restart', target: 'scheduler', watch: false, timeoutMs: 60_000 },
    ]);
  });

  it.each([
    ['kill: node-1', /needs a list `steps:`/],
    ['steps:\n  - explode: node-1', /steps\[0\]: must have one of kill/],
    ['steps:\n  - kill: node-1\n    stop: node-2', /steps\[0\]: must have one of/],
    ['steps:\n  - wait: soon', /steps\[0\]: wait: time: invalid duration "soon"/],
    ['steps:\n  - kill: node-1\n    after: 5s', /unknown key after/],
  ])('refuses %j', (text, err) => expect(() => parseScenario(text)).toThrow(err));
});
