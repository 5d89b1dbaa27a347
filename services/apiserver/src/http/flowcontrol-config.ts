/**
 * API Priority and Fairness' bootstrap configuration, as kube-apiserver
 * creates it (k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap/default.go):
 * the priority levels with their shares and queues, and the FlowSchemas that
 * classify a request by who sent it and what it asks for. Kemu serves no
 * flowcontrol.apiserver.k8s.io objects: this configuration is fixed. Pure.
 */
import { createHash } from 'node:crypto';
import type { UserInfo } from './auth.js';
import type { RequestInfo } from './request-info.js';

export interface PriorityLevel {
  name: string;
  uid: string;
  /** Exempt levels are never queued nor limited. */
  exempt: boolean;
  /** nominalConcurrencyShares: this level's part of the server's seats. */
  shares: number;
  /** Queuing; absent means "reject when no seat is free" (catch-all). */
  queuing?: { queues: number; handSize: number; queueLengthLimit: number };
}

/** A subject and rule test, already narrowed to what the defaults use. */
interface Rule {
  users?: string[];
  groups?: string[];
  /** Service accounts, as namespace (every name). */
  serviceAccountNamespaces?: string[];
  /** Resource rules: all must match one of them (when given). */
  resources?: { verbs: string[]; groups: string[]; resources: string[]; namespaces: string[]; clusterScope: boolean }[];
  /** Non-resource URL rules (paths; a trailing * is a prefix). */
  nonResourceURLs?: string[];
  /** Matches every request of the subjects, resource or not. */
  everything?: boolean;
}

export interface FlowSchema {
  name: string;
  uid: string;
  priorityLevel: string;
  matchingPrecedence: number;
  distinguisher?: 'ByUser' | 'ByNamespace';
  rule: Rule;
}

/** A stable uid per object name, so the X-Kubernetes-PF-*-UID headers do not change between restarts. */
function uidOf(kind: string, name: string): string {
  const h = createHash('sha1').update(`kemu/flowcontrol/${kind}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const level = (name: string, shares: number, queuing?: PriorityLevel['queuing']): PriorityLevel => ({
  name,
  uid: uidOf('prioritylevelconfiguration', name),
  exempt: false,
  shares,
  queuing,
});

export const PRIORITY_LEVELS: readonly PriorityLevel[] = [
  { name: 'exempt', uid: uidOf('prioritylevelconfiguration', 'exempt'), exempt: true, shares: 0 },
  level('system', 30, { queues: 64, handSize: 6, queueLengthLimit: 50 }),
  level('node-high', 40, { queues: 64, handSize: 6, queueLengthLimit: 50 }),
  level('leader-election', 10, { queues: 16, handSize: 4, queueLengthLimit: 50 }),
  level('workload-high', 40, { queues: 128, handSize: 6, queueLengthLimit: 50 }),
  level('workload-low', 100, { queues: 128, handSize: 6, queueLengthLimit: 50 }),
  level('global-default', 20, { queues: 128, handSize: 6, queueLengthLimit: 50 }),
  level('catch-all', 5),
];

const ALL = ['*'];
const everything: Rule = { everything: true };
const schema = (name: string, priorityLevel: string, matchingPrecedence: number, distinguisher: FlowSchema['distinguisher'], rule: Rule): FlowSchema => ({
  name,
  uid: uidOf('flowschema', name),
  priorityLevel,
  matchingPrecedence,
  distinguisher,
  rule,
});
const leaderElectionResources = (configNamespaces: string[]) => [
  { verbs: ['get', 'create', 'update'], groups: [''], resources: ['endpoints', 'configmaps'], namespaces: configNamespaces, clusterScope: false },
  { verbs: ['get', 'create', 'update'], groups: ['coordination.k8s.io'], resources: ['leases'], namespaces: ALL, clusterScope: false },
];

/** Sorted by matchingPrecedence, as the classifier tries them. */
export const FLOW_SCHEMAS: readonly FlowSchema[] = [
  schema('exempt', 'exempt', 1, undefined, { groups: ['system:masters'], everything: true }),
  schema('probes', 'exempt', 2, undefined, {
    groups: ['system:unauthenticated', 'system:authenticated'],
    nonResourceURLs: ['/healthz', '/readyz', '/livez'],
  }),
  schema('system-leader-election', 'leader-election', 100, 'ByUser', {
    users: ['system:kube-controller-manager', 'system:kube-scheduler'],
    serviceAccountNamespaces: ['kube-system'],
    resources: leaderElectionResources(['kube-system']),
  }),
  schema('workload-leader-election', 'leader-election', 200, 'ByUser', {
    serviceAccountNamespaces: ['kube-system'],
    resources: leaderElectionResources(ALL),
  }),
  schema('system-node-high', 'node-high', 400, 'ByUser', {
    groups: ['system:nodes'],
    resources: [
      { verbs: ALL, groups: [''], resources: ['nodes', 'nodes/status'], namespaces: ALL, clusterScope: true },
      { verbs: ALL, groups: ['coordination.k8s.io'], resources: ['leases'], namespaces: ALL, clusterScope: false },
    ],
  }),
  schema('system-nodes', 'system', 500, 'ByUser', { groups: ['system:nodes'], ...everything }),
  schema('kube-controller-manager', 'workload-high', 800, 'ByNamespace', { users: ['system:kube-controller-manager'], ...everything }),
  schema('kube-scheduler', 'workload-high', 800, 'ByNamespace', { users: ['system:kube-scheduler'], ...everything }),
  schema('kube-system-service-accounts', 'workload-high', 900, 'ByNamespace', { serviceAccountNamespaces: ['kube-system'], ...everything }),
  schema('service-accounts', 'workload-low', 9000, 'ByUser', { groups: ['system:serviceaccounts'], ...everything }),
  schema('global-default', 'global-default', 9900, 'ByUser', { groups: ['system:unauthenticated', 'system:authenticated'], ...everything }),
  schema('catch-all', 'catch-all', 10000, 'ByUser', { groups: ['system:unauthenticated', 'system:authenticated'], ...everything }),
];

/** Who an unauthenticated request is, for classification (Kubernetes' anonymous user). */
export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

function subjectMatches(r: Rule, user: UserInfo): boolean {
  if (r.users?.includes(user.name)) return true;
  if (r.groups?.some((g) => user.groups.includes(g))) return true;
  if (r.serviceAccountNamespaces) {
    const m = /^system:serviceaccount:([^:]+):[^:]+$/.exec(user.name);
    if (m && r.serviceAccountNamespaces.some((ns) => ns === '*' || ns === m[1])) return true;
  }
  return false;
}

const has = (list: string[], v: string) => list.includes('*') || list.includes(v);

function requestMatches(r: Rule, info: RequestInfo): boolean {
  if (r.everything) return true;
  if (!info.isResourceRequest) {
    const path = info.path.replace(/\/+$/, '') || '/';
    return (r.nonResourceURLs ?? []).some((u) => (u.endsWith('*') ? path.startsWith(u.slice(0, -1)) : path === u));
  }
  const resource = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  return (r.resources ?? []).some(
    (rr) =>
      has(rr.verbs, info.verb) &&
      has(rr.groups, info.apiGroup) &&
      has(rr.resources, resource) &&
      (info.namespace ? has(rr.namespaces, info.namespace) : rr.clusterScope),
  );
}

export interface Classification {
  flowSchema: FlowSchema;
  priorityLevel: PriorityLevel;
  /** Requests with the same key share a flow (and so a hand of queues). */
  flowKey: string;
}

/** The FlowSchema of lowest matchingPrecedence that matches, its priority level and the request's flow. */
export function classify(user: UserInfo | undefined, info: RequestInfo): Classification {
  const u = user ?? ANONYMOUS;
  const fs = FLOW_SCHEMAS.find((s) => subjectMatches(s.rule, u) && requestMatches(s.rule, info)) ?? FLOW_SCHEMAS[FLOW_SCHEMAS.length - 1];
  const pl = PRIORITY_LEVELS.find((p) => p.name === fs.priorityLevel)!;
  const distinguisher = fs.distinguisher === 'ByUser' ? u.name : fs.distinguisher === 'ByNamespace' ? info.namespace : '';
  return { flowSchema: fs, priorityLevel: pl, flowKey: `${fs.name}/${distinguisher}` };
}

/**
 * Each limited level's seats: the server's total (kube-apiserver's
 * --max-requests-inflight plus --max-mutating-requests-inflight) shared by
 * nominalConcurrencyShares, rounded up, as kube-apiserver's nominal limit.
 */
export function nominalSeats(total: number, levels: readonly PriorityLevel[] = PRIORITY_LEVELS): Map<string, number> {
  const sum = levels.reduce((s, l) => s + (l.exempt ? 0 : l.shares), 0);
  return new Map(levels.filter((l) => !l.exempt).map((l) => [l.name, Math.ceil((total * l.shares) / sum)]));
}
