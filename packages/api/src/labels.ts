/**
 * Label selectors: the string form of `-l` / `labelSelector=` (=, ==, !=, in,
 * notin, exists, !key, gt, lt) and metav1.LabelSelector (matchLabels,
 * matchExpressions). Parsing is strict: a malformed selector is a 400, never
 * a selector that matches everything by accident.
 */
import { badRequest } from './errors.js';
import { isQualifiedName, isLabelValue } from './validation/names.js';

export type Operator = 'in' | 'notin' | 'exists' | '!' | '=' | '!=' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

/** A parsed selector: all requirements must hold. An empty list matches everything. */
export type Selector = Requirement[];

function fail(sel: string, why: string): never {
  throw badRequest(`unable to parse requirement: ${why} (selector "${sel}")`);
}

function splitTop(sel: string): string[] {
  // Commas inside parentheses belong to a value list, not to the selector.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of sel) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

function checkKey(sel: string, key: string): void {
  if (!isQualifiedName(key)) fail(sel, `invalid label key "${key}"`);
}
function checkValue(sel: string, v: string): void {
  if (!isLabelValue(v)) fail(sel, `invalid label value: "${v}"`);
}

/** Parse the string form of a label selector. */
export function parseSelector(sel: string | undefined | null): Selector {
  if (!sel || !sel.trim()) return [];
  const out: Requirement[] = [];
  for (const raw of splitTop(sel)) {
    const part = raw.trim();
    if (!part) fail(sel, "found '', expected: !, identifier, or 'end of string'");
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^([^\s!=<>(),]+)\s+(in|notin)\s*\((.*)\)$/))) {
      const key = m[1];
      checkKey(sel, key);
      const values = m[3].split(',').map((v) => v.trim());
      values.forEach((v) => checkValue(sel, v));
      out.push({ key, op: m[2] as Operator, values });
    } else if ((m = part.match(/^!\s*([^\s!=<>(),]+)$/))) {
      checkKey(sel, m[1]);
      out.push({ key: m[1], op: '!', values: [] });
    } else if ((m = part.match(/^([^\s!=<>(),]+)\s*(==|=|!=|>|<)\s*([^\s!=<>(),]*)$/))) {
      const key = m[1];
      checkKey(sel, key);
      const opText = m[2];
      const v = m[3];
      if (opText === '>' || opText === '<') {
        if (!/^-?\d+$/.test(v)) fail(sel, `for 'Gt', 'Lt' operators, the value must be an integer`);
        out.push({ key, op: opText === '>' ? 'gt' : 'lt', values: [v] });
      } else {
        checkValue(sel, v);
        out.push({ key, op: opText === '!=' ? '!=' : '=', values: [v] });
      }
    } else if ((m = part.match(/^([^\s!=<>(),]+)$/))) {
      checkKey(sel, m[1]);
      out.push({ key: m[1], op: 'exists', values: [] });
    } else {
      fail(sel, `unexpected text "${part}"`);
    }
  }
  return out;
}

/** Does the label set satisfy every requirement? */
export function matches(selector: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const req of selector) {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    const v = l[req.key];
    switch (req.op) {
      case '=':
      case 'in':
        if (!has || !req.values.includes(v)) return false;
        break;
      case '!=':
      case 'notin':
        if (has && req.values.includes(v)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v)) return false;
        const n = Number(v);
        const ref = Number(req.values[0]);
        if (req.op === 'gt' ? !(n > ref) : !(n < ref)) return false;
        break;
      }
    }
  }
  return true;
}

/** metav1.LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/**
 * Convert a metav1.LabelSelector. As in Kubernetes, a null selector matches
 * nothing and an empty one matches everything; the caller decides which it has.
 */
export function fromLabelSelector(ls: LabelSelector): Selector {
  const out: Requirement[] = [];
  for (const [key, v] of Object.entries(ls.matchLabels ?? {})) out.push({ key, op: '=', values: [v] });
  for (const e of ls.matchExpressions ?? []) {
    const op: Operator = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : '!';
    out.push({ key: e.key, op, values: e.values ?? [] });
  }
  return out;
}

/** The string form, as `kubectl` prints a selector (`app=web,tier in (a,b)`). */
export function selectorString(sel: Selector): string {
  return sel
    .map((r) => {
      switch (r.op) {
        case '=':
          return `${r.key}=${r.values[0]}`;
        case '!=':
          return `${r.key}!=${r.values[0]}`;
        case 'in':
        case 'notin':
          return `${r.key} ${r.op} (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'gt':
          return `${r.key}>${r.values[0]}`;
        case 'lt':
          return `${r.key}<${r.values[0]}`;
      }
    })
    .join(',');
}
