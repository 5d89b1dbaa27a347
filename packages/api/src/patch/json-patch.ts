/**
 * RFC 6902 JSON Patch (add, remove, replace, move, copy, test) over JSON
 * values. Pure: returns a new document, never touches the input.
 */
import { StatusError } from '../errors.js';
import { isPlainObject, jsonEqual } from '../types.js';

export interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

/** A patch that cannot be applied: Kubernetes answers 422. */
export class PatchError extends StatusError {
  constructor(message: string) {
    super(422, 'Invalid', message);
  }
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new PatchError(`invalid JSON pointer: "${p}"`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function get(doc: unknown, path: string[], full: string): unknown {
  let cur = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      const i = Number(seg);
      if (!/^\d+$/.test(seg) || i >= cur.length) throw new PatchError(`unable to access invalid index: ${seg}`);
      cur = cur[i];
    } else if (isPlainObject(cur)) {
      if (!(seg in cur)) throw new PatchError(`doc is missing path: "${full}": missing value`);
      cur = cur[seg];
    } else throw new PatchError(`doc is missing path: "${full}": missing value`);
  }
  return cur;
}

function parentOf(doc: unknown, path: string[], full: string): unknown {
  const parent = get(doc, path.slice(0, -1), full);
  if (!Array.isArray(parent) && !isPlainObject(parent)) {
    throw new PatchError(`doc is missing path: "${full}": missing value`);
  }
  return parent;
}

function add(doc: unknown, path: string[], value: unknown, full: string): unknown {
  if (path.length === 0) return value;
  const parent = parentOf(doc, path, full);
  const last = path[path.length - 1];
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!/^\d+$/.test(last) && last !== '-') throw new PatchError(`invalid array index: ${last}`);
    if (i > parent.length) throw new PatchError(`unable to access invalid index: ${i}`);
    parent.splice(i, 0, value);
  } else (parent as Record<string, unknown>)[last] = value;
  return doc;
}

function remove(doc: unknown, path: string[], full: string): unknown {
  if (path.length === 0) throw new PatchError('unable to remove the whole document');
  const parent = parentOf(doc, path, full);
  const last = path[path.length - 1];
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!/^\d+$/.test(last) || i >= parent.length) throw new PatchError(`unable to remove nonexistent key: ${last}: missing value`);
    parent.splice(i, 1);
  } else {
    if (!(last in (parent as object))) throw new PatchError(`unable to remove nonexistent key: ${last}: missing value`);
    delete (parent as Record<string, unknown>)[last];
  }
  return doc;
}

/** Apply a JSON patch document (already parsed) to `doc`. */
export function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new StatusError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let out = structuredClone(doc);
  for (const raw of ops) {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError('invalid JSON patch operation: each needs "op" and "path"');
    }
    const op = raw as unknown as JsonPatchOp;
    const path = parsePointer(op.path);
    switch (op.op) {
      case 'add':
        if (!('value' in raw)) throw new PatchError(`missing value for add at ${op.path}`);
        out = add(out, path, structuredClone(op.value), op.path);
        break;
      case 'remove':
        out = remove(out, path, op.path);
        break;
      case 'replace':
        if (!('value' in raw)) throw new PatchError(`missing value for replace at ${op.path}`);
        get(out, path, op.path);
        out = path.length === 0 ? structuredClone(op.value) : add(remove(out, path, op.path), path, structuredClone(op.value), op.path);
        break;
      case 'move': {
        const from = parsePointer(op.from ?? '');
        const v = get(out, from, op.from ?? '');
        out = add(remove(out, from, op.from ?? ''), path, v, op.path);
        break;
      }
      case 'copy': {
        const v = get(out, parsePointer(op.from ?? ''), op.from ?? '');
        out = add(out, path, structuredClone(v), op.path);
        break;
      }
      case 'test':
        if (!jsonEqual(get(out, path, op.path), op.value)) throw new PatchError(`testing value ${op.path} failed: test failed`);
        break;
      default:
        throw new PatchError(`Unexpected kind: ${op.op}`);
    }
  }
  return out;
}
