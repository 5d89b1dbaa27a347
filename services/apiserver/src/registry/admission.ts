/**
 * Admission for the spine: namespace lifecycle (no objects in a missing or
 * terminating namespace; the system namespaces cannot be deleted), Service
 * IP and port allocation, ResourceQuota, LimitRange and ServiceAccount
 * admission. What a DELETE does is ./delete-strategy.ts.
 */
import { forbidden, notFound, type KubeObject, type ResourceInfo } from '@kemu/api';
import type { Namespace, Pod, ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { EtcdStore } from '../storage/etcd-store.js';
import type { WatchCache } from '../storage/watch-cache.js';
import type { ServiceAllocator } from './allocator.js';
import { allocate, release, type Allocation } from './service-strategy.js';
import { AllocationError } from './allocator.js';
import { mountServiceAccountToken } from './service-account-admission.js';
import { randomSuffix } from './names.js';
import { admitPodSecurity, namespaceChangeWarnings } from '../admission/pod-security-admission.js';
import { invalidPolicyLabels } from '../admission/pod-security.js';
import { nodeRestriction, type Operation } from '../admission/node-restriction.js';
import { nodeOf } from '../authz/node-authorizer.js';
import { annotate, currentUser } from '../authz/request-user.js';
import {
  addDefaultTolerations,
  qosClass,
  addUsage,
  type DefaultTolerationSeconds,
  applyLimitRanges,
  charge,
  invalidError,
  quotaRefusal,
  type Usage,
} from '@kemu/api';

const NOTHING: Allocation = { commit: () => undefined, rollback: () => undefined };
const PROTECTED_NAMESPACES = ['default', 'kube-system', 'kube-public'];

/** Quota a create holds until the watch cache shows its object. */
interface Reservation {
  usage: Usage;
  storage: string;
  at: number;
}

export class Admission {
  /** Quota charged by creates not yet in the watch cache, by namespace and object uid. */
  private reserved = new Map<string, Map<string, Reservation>>();

  constructor(
    private store: EtcdStore,
    private namespaces: () => WatchCache | undefined,
    readonly allocator: ServiceAllocator,
    private cacheOf: (storage: string) => WatchCache | undefined = () => undefined,
    private tolerationSeconds: DefaultTolerationSeconds = { notReady: 300, unreachable: 300 },
  ) {}

  /** DefaultTolerationSeconds admission (mutating): tolerations of the not-ready and unreachable taints for a pod that has none. */
  defaultTolerationSeconds(info: ResourceInfo, obj: KubeObject): void {
    if (info.storage === 'pods') addDefaultTolerations(obj, this.tolerationSeconds);
  }

  /** LimitRange admission (mutating): default and bound the containers of a new pod. */
  limitRanges(info: ResourceInfo, obj: KubeObject): void {
    if (info.storage !== 'pods') return;
    const ranges = this.cacheOf('limitranges')?.list({ namespace: obj.metadata.namespace, labels: [], fields: [] }).items ?? [];
    if (!ranges.length) return;
    const problems = applyLimitRanges(obj, ranges);
    // The defaults may have made it Burstable or Guaranteed.
    const pod = obj as Pod;
    obj.status = { ...pod.status, qosClass: qosClass(pod.spec ?? {}) };
    if (problems.length) throw forbidden('pods', '', obj.metadata.name ?? '', problems.length === 1 ? problems[0] : `[${problems.join(', ')}]`);
  }

  /** ServiceAccount admission (mutating): the `default` service account when none is named, and the kube-api-access volume, unless automount is off. */
  serviceAccount(info: ResourceInfo, obj: KubeObject): void {
    const spec = (obj as Pod).spec;
    if (info.storage !== 'pods' || !spec) return;
    // A mirror pod (a kubelet's static pod) gets no service account, as Kubernetes' admission leaves it.
    if (obj.metadata.annotations?.['kubernetes.io/config.mirror'] !== undefined) return;
    spec.serviceAccountName ||= 'default';
    spec.serviceAccount = spec.serviceAccountName;
    const sa = this.cacheOf('serviceaccounts')?.get(`/registry/serviceaccounts/${obj.metadata.namespace}/${spec.serviceAccountName ?? 'default'}`) as
      ServiceAccount | undefined;
    mountServiceAccountToken(spec, sa?.automountServiceAccountToken, randomSuffix(5));
  }

  /**
   * ResourceQuota admission: what the object charges must fit every quota of
   * its namespace, counting what is stored and what is being created right
   * now (check and reserve happen in one step, so concurrent creates cannot
   * overshoot).
   */
  private quota(info: ResourceInfo, obj: KubeObject): Allocation {
    const ns = obj.metadata.namespace;
    if (!ns || info.storage === 'events') return NOTHING;
    const quotas = this.cacheOf('resourcequotas')?.list({ namespace: ns, labels: [], fields: [] }).items ?? [];
    if (!quotas.length) return NOTHING;
    const requested = charge(info.storage, info.group, obj);
    const cache = this.cacheOf(info.storage);
    const stored = cache?.list({ namespace: ns, labels: [], fields: [] }).items ?? [];
    let used: Usage = {};
    const seen = new Set<string>();
    for (const o of stored) {
      used = addUsage(used, charge(info.storage, info.group, o));
      if (o.metadata.uid) seen.add(o.metadata.uid);
    }
    const mine = this.reserved.get(ns) ?? new Map<string, Reservation>();
    const now = Date.now();
    for (const [uid, r] of mine) {
      if (seen.has(uid) || now - r.at > 60_000) mine.delete(uid);
      else if (r.storage === info.storage) used = addUsage(used, r.usage);
    }
    for (const q of quotas) {
      const why = quotaRefusal(q, requested, used);
      if (why) throw forbidden(info.resource, info.group, obj.metadata.name ?? '', why);
    }
    const uid = obj.metadata.uid!;
    mine.set(uid, { usage: requested, storage: info.storage, at: now });
    this.reserved.set(ns, mine);
    return { commit: () => undefined, rollback: () => void mine.delete(uid) };
  }

  /** A namespaced object may only be created in an existing, active namespace. */
  async validateNamespace(info: ResourceInfo, ns: string | undefined, name: string): Promise<void> {
    if (!info.namespaced || !ns) return;
    const key = `/registry/namespaces/${ns}`;
    const nsObj = this.namespaces()?.get(key) ?? (await this.store.get(key))?.obj;
    if (!nsObj) throw notFound('namespaces', '', ns);
    if (nsObj.metadata.deletionTimestamp || (nsObj as Namespace).status?.phase === 'Terminating') {
      const err = forbidden(info.resource, info.group, name, `unable to create new content in namespace ${ns} because it is being terminated`);
      // Clients (the namespace controller, kubectl apply) tell this refusal from an RBAC one by its cause.
      err.status.details = {
        ...err.status.details,
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }],
      };
      throw err;
    }
  }

  /**
   * Pod Security admission: refuses what the namespace's enforce level forbids, and returns the warnings for its warn
   * level (and, for a namespace whose enforce level tightens, for the pods already there).
   */
  podSecurity(info: ResourceInfo, obj: KubeObject, old?: KubeObject): string[] {
    if (info.storage === 'namespaces') {
      const bad = invalidPolicyLabels(obj.metadata.labels);
      if (bad.length) {
        throw invalidError(
          'Namespace',
          '',
          obj.metadata.name ?? '',
          bad.map((k) => ({
            type: 'FieldValueInvalid' as const,
            field: `metadata.labels[${k}]`,
            value: obj.metadata.labels![k],
            detail: 'must be one of privileged, baseline, restricted',
          })),
        );
      }
      if (!old) return [];
      const pods = this.cacheOf('pods')?.list({ namespace: obj.metadata.name, labels: [], fields: [] }).items ?? [];
      return namespaceChangeWarnings(obj.metadata.name ?? '', obj.metadata.labels, old.metadata.labels, pods);
    }
    if (!info.namespaced || !obj.metadata.namespace) return [];
    const ns = this.namespaces()?.get(`/registry/namespaces/${obj.metadata.namespace}`);
    const d = admitPodSecurity(info, obj, ns?.metadata.labels);
    // As the PodSecurity plugin: the audit event carries the decision even when the pod is refused.
    for (const [key, value] of Object.entries(d.auditAnnotations)) annotate(key, value);
    if (d.refusal) throw forbidden('pods', '', obj.metadata.name ?? '', d.refusal);
    return d.warnings;
  }

  /** NodeRestriction: a kubelet's credential writes only its own Node and Lease, and its pods. A 403 otherwise. */
  nodeRestriction(op: Operation, info: ResourceInfo, subresource: string | undefined, obj: KubeObject | undefined, old?: KubeObject): void {
    const user = currentUser();
    const node = user && nodeOf(user);
    if (!node) return;
    const why = nodeRestriction(node, op, info.storage, subresource, obj, old);
    if (why) throw forbidden(info.resource, info.group, (obj ?? old)?.metadata.name ?? '', why);
  }

  validateDelete(info: ResourceInfo, name: string): void {
    if (info.storage === 'namespaces' && PROTECTED_NAMESPACES.includes(name)) {
      throw forbidden('namespaces', '', name, 'this namespace may not be deleted');
    }
  }

  private allocation(info: ResourceInfo, obj: KubeObject, old?: KubeObject): Allocation {
    if (info.storage !== 'services') return NOTHING;
    try {
      return allocate(this.allocator, obj, old);
    } catch (e) {
      if (e instanceof AllocationError) throw invalidError('Service', '', obj.metadata.name ?? '', [e.fieldError]);
      throw e;
    }
  }

  beforeCreate(info: ResourceInfo, obj: KubeObject): Allocation {
    const q = this.quota(info, obj);
    try {
      const a = this.allocation(info, obj);
      return { commit: () => (q.commit(), a.commit()), rollback: () => (q.rollback(), a.rollback()) };
    } catch (e) {
      q.rollback();
      throw e;
    }
  }

  beforeUpdate(info: ResourceInfo, next: KubeObject, cur: KubeObject): Allocation {
    return this.allocation(info, next, cur);
  }

  afterDelete(info: ResourceInfo, obj: KubeObject): void {
    if (info.storage === 'services') release(this.allocator, obj);
  }
}
