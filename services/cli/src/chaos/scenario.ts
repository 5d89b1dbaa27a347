/**
 * `kemu chaos run SCENARIO.yaml`: a list of steps, each one verb on one target
 * or a wait.
 *
 *   steps:
 *     - kill: node-2          # any verb of `kemu chaos`, on a node or a component
 *       watch: true           # watch the recovery (timeout: 60s unless given)
 *       timeout: 30s
 *     - wait: 5s
 *     - start: node-2
 *
 * Parsing is pure and says which step is wrong.
 */
import { parse } from 'yaml';
import { isPlainObject, parseDuration } from '@kemu/api';

export const VERBS = ['kill', 'stop', 'start', 'pause', 'resume', 'partition', 'heal', 'restart'] as const;
export type Verb = (typeof VERBS)[number];

export function isVerb(s: string): s is Verb {
  return (VERBS as readonly string[]).includes(s);
}

export type Step = { verb: Verb; target: string; watch: boolean; timeoutMs: number } | { wait: number };

export const DEFAULT_TIMEOUT_MS = 60_000;

export function parseScenario(text: string): Step[] {
  const doc: unknown = parse(text);
  const steps = isPlainObject(doc) ? doc.steps : undefined;
  if (!Array.isArray(steps)) throw new Error('scenario: needs a list `steps:`');
  return steps.map((raw, i): Step => {
    const where = `scenario: steps[${i}]`;
    if (!isPlainObject(raw)) throw new Error(`${where}: must be a mapping`);
    const duration = (v: unknown, what: string): number => {
      if (typeof v === 'number') return v * 1000;
      if (typeof v !== 'string') throw new Error(`${where}: ${what} must be a duration like 5s`);
      try {
        return parseDuration(v);
      } catch (e) {
        throw new Error(`${where}: ${what}: ${(e as Error).message}`);
      }
    };
    if ('wait' in raw) return { wait: duration(raw.wait, 'wait') };
    const verbs = Object.keys(raw).filter(isVerb);
    if (verbs.length !== 1) throw new Error(`${where}: must have one of ${VERBS.join(', ')} (or wait)`);
    const verb = verbs[0];
    const target = raw[verb];
    if (typeof target !== 'string' || !target) throw new Error(`${where}: ${verb} needs a node or component name`);
    const unknown = Object.keys(raw).filter((k) => k !== verb && k !== 'watch' && k !== 'timeout');
    if (unknown.length) throw new Error(`${where}: unknown key ${unknown.join(', ')}`);
    return { verb, target, watch: raw.watch === true, timeoutMs: raw.timeout === undefined ? DEFAULT_TIMEOUT_MS : duration(raw.timeout, 'timeout') };
  });
}
