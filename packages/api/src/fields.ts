/**
 * Field selectors (`fieldSelector=`): only the fields Kubernetes supports for
 * each resource; any other is a 400, as in Kubernetes.
 */
import { badRequest } from './errors.js';
import type { KubeObject } from './types.js';
import { at, jsonText } from './json.js';

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

const COMMON = ['metadata.name', 'metadata.namespace'];

/** Extra selectable fields per stored resource. */
const EXTRA: Record<string, string[]> = {
  pods: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  events: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  namespaces: ['status.phase'],
  nodes: ['spec.unschedulable'],
  secrets: ['type'],
  replicationcontrollers: ['status.replicas'],
  replicasets: ['status.replicas'],
  services: ['spec.clusterIP', 'spec.type'],
};

/** Parse `a=b,c!=d,e==f`, checking each field is selectable on `storage`. */
export function parseFieldSelector(sel: string | undefined | null, storage: string): FieldRequirement[] {
  if (!sel || !sel.trim()) return [];
  const allowed = [...COMMON, ...(EXTRA[storage] ?? [])];
  return sel.split(',').map((part) => {
    const m = part.trim().match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${part}'`);
    const field = m[1].trim();
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, op: m[2] === '!=' ? '!=' : '=', value: m[3].trim() };
  });
}

/** The value a field selector compares (`source` is events' source.component). */
export function fieldValue(obj: KubeObject, field: string): string {
  if (field === 'source') return jsonText(at(obj, 'source', 'component') ?? at(obj, 'reportingController') ?? '');
  const cur = at(obj, ...field.split('.'));
  if (cur === undefined || cur === null) {
    // Kubernetes compares these booleans as "false" when unset.
    return field === 'spec.unschedulable' || field === 'spec.hostNetwork' ? 'false' : '';
  }
  return jsonText(cur);
}

export function matchesFields(reqs: FieldRequirement[], obj: KubeObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
