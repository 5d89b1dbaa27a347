/**
 * The scheduling loop: take a pending pod, filter the nodes (a sample of
 * them on large clusters, as percentageOfNodesToScore), score the feasible
 * ones, assume the pod on the best node and bind it through pods/binding.
 * A pod that fits nowhere gets a FailedScheduling event in Kubernetes' words
 * and waits until the cluster changes (a node added or changed, a pod
 * deleted) — never by busy polling.
 */
import { formatTime, fromLabelSelector, isConflict, isNotFound, type KubeObject, type Selector } from '@kemu/api';
import { keyOf, type EventRecorder, type Informer, type InformerFactory, type ApiClient } from '@kemu/client';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod, PodSpec, ReplicationController, Service } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import { addPod, newNodeInfo, removePod, setNode, type NodeInfo } from './framework/node-info.js';
import { filtersFor, fitErrorMessage } from './framework/filters.js';
import { leastAllocated, selectorSpread, topologySpreadScore } from './framework/scores.js';

const PODS = { version: 'v1', resource: 'pods' };
const SCHEDULER = 'default-scheduler';

// Informers and the client hand out KubeObjects; each informer holds one kind, so an object is given its kind here,
// once, where it enters the scheduler.
const asPod = (o: KubeObject) => o as Pod;
const asNode = (o: KubeObject) => o as Node;

/** How many feasible nodes to look for before scoring (Kubernetes' adaptive percentageOfNodesToScore). */
export function numFeasibleNodesToFind(total: number): number {
  if (total < 100) return total;
  const pct = Math.max(5, 50 - Math.floor(total / 125));
  return Math.max(100, Math.floor((total * pct) / 100));
}

export interface SchedulerDeps {
  client: ApiClient;
  informers: InformerFactory;
  recorder: EventRecorder;
  log: Logger;
  onBound?: (pod: string, node: string) => void;
}

export class Scheduler {
  private nodes: Informer;
  private pods: Informer;
  private services: Informer;
  private replicaSets: Informer;
  private rcs: Informer;
  private infos = new Map<string, NodeInfo>();
  private assumed = new Map<string, string>();
  private active: string[] = [];
  private queued = new Set<string>();
  private unschedulable = new Map<string, number>(); // key → attempts
  private unschedulableSince = new Map<string, number>(); // key → when it was last found not to fit
  private wake: (() => void) | undefined;
  private nextStart = 0;
  private inflight = 0;

  constructor(private d: SchedulerDeps) {
    this.nodes = d.informers.for({ version: 'v1', resource: 'nodes' });
    this.pods = d.informers.for(PODS);
    this.services = d.informers.for({ version: 'v1', resource: 'services' });
    this.replicaSets = d.informers.for({ group: 'apps', version: 'v1', resource: 'replicasets' });
    this.rcs = d.informers.for({ version: 'v1', resource: 'replicationcontrollers' });
    this.nodes.on({
      add: (n) => {
        setNode(this.nodeInfo(n.metadata.name!), asNode(n));
        this.moveAllToActive();
      },
      update: (_a, n) => {
        setNode(this.nodeInfo(n.metadata.name!), asNode(n));
        this.moveAllToActive();
      },
      delete: (n) => this.infos.delete(n.metadata.name!),
    });
    this.pods.on({
      add: (p) => this.podChanged(undefined, p),
      update: (a, b) => this.podChanged(a, b),
      delete: (p) => {
        const key = keyOf(p);
        const node = asPod(p).spec?.nodeName ?? this.assumed.get(key);
        if (node) {
          const info = this.infos.get(node);
          if (info) removePod(info, key);
          this.assumed.delete(key);
          this.moveAllToActive();
        }
        this.unschedulable.delete(key);
        this.unschedulableSince.delete(key);
        this.attempts.delete(key); // a pod made again under the name (a StatefulSet's) starts without a back-off
        this.queued.delete(key);
      },
    });
  }

  private nodeInfo(name: string): NodeInfo {
    let info = this.infos.get(name);
    if (!info) {
      info = newNodeInfo({ metadata: { name } });
      this.infos.set(name, info);
    }
    return info;
  }

  private isOurs(p: Pod): boolean {
    return (p.spec?.schedulerName ?? SCHEDULER) === SCHEDULER && !p.spec?.nodeName && !p.metadata?.deletionTimestamp;
  }

  private podChanged(oldObj: KubeObject | undefined, obj: KubeObject): void {
    const key = keyOf(obj);
    const old = oldObj && asPod(oldObj);
    const p = asPod(obj);
    if (p.spec?.nodeName) {
      this.assumed.delete(key);
      this.queued.delete(key);
      this.unschedulable.delete(key);
      this.unschedulableSince.delete(key);
      this.attempts.delete(key);
      if (old?.spec?.nodeName && old.spec.nodeName !== p.spec.nodeName) removePod(this.nodeInfo(old.spec.nodeName), key);
      const phase = p.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') removePod(this.nodeInfo(p.spec.nodeName), key);
      else addPod(this.nodeInfo(p.spec.nodeName), key, p);
      return;
    }
    if (this.isOurs(p) && !this.assumed.has(key) && !this.unschedulable.has(key)) this.enqueue(key);
  }

  private enqueue(key: string): void {
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.active.push(key);
    this.wake?.();
  }

  /**
   * The cluster changed: every pod that did not fit gets another try, once
   * its back-off has run out, counted from its last attempt as kube-scheduler
   * counts it (a pod that failed a second before a node became Ready is tried
   * at once, not a back-off later). With `olderThanMs`, only those waiting at
   * least that long (Kubernetes' leftover flush: pods unschedulable for 5 minutes).
   */
  private moveAllToActive(olderThanMs = 0): void {
    const now = Date.now();
    for (const [key, attempts] of this.unschedulable) {
      const since = this.unschedulableSince.get(key) ?? now;
      if (olderThanMs && now - since < olderThanMs) continue;
      this.unschedulable.delete(key);
      this.unschedulableSince.delete(key);
      const retry = () => {
        const p = this.pods.lister.get(key);
        if (p && this.isOurs(asPod(p))) this.enqueue(key);
      };
      const left = backoffLeft(attempts, since, now);
      if (left > 0) setTimeout(retry, left).unref();
      else retry();
    }
  }

  /** Failed attempts per pod, for the back-off. */
  private attempts = new Map<string, number>();

  async run(signal: AbortSignal): Promise<void> {
    for (const p of this.pods.lister.list()) this.podChanged(undefined, p);
    // Pods that stayed unschedulable for 5 minutes get another try even if nothing changed, checked every 30 s
    // (kube-scheduler's podMaxInUnschedulablePodsDuration). Retrying them all more often only loads the api-server.
    const flush = setInterval(() => this.moveAllToActive(5 * 60_000), 30_000);
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(flush);
        this.wake?.();
      },
      { once: true },
    );
    while (!signal.aborted) {
      const key = this.active.shift();
      if (key === undefined) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      this.queued.delete(key);
      const pod = this.pods.lister.get(key);
      if (!pod || !this.isOurs(asPod(pod)) || this.assumed.has(key)) continue;
      this.scheduleOne(key, pod);
      // Let informer events and bindings in between pods.
      if (this.inflight > 64 || this.active.length % 16 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  private spreadSelectors(pod: Pod): Selector[] {
    const out: Selector[] = [];
    const ns = pod.metadata?.namespace;
    for (const s of this.services.lister.list(ns) as Service[]) {
      const sel = s.spec?.selector;
      if (sel && Object.keys(sel).length) {
        const parsed = fromLabelSelector({ matchLabels: sel });
        if (Object.entries(sel).every(([k, v]) => pod.metadata?.labels?.[k] === v)) out.push(parsed);
      }
    }
    const ref = (pod.metadata?.ownerReferences ?? []).find((r) => r.controller);
    if (ref?.kind === 'ReplicaSet') {
      const rs = this.replicaSets.lister.getNamed(ns, ref.name) as ReplicaSet | undefined;
      if (rs?.spec?.selector) out.push(fromLabelSelector(rs.spec.selector));
    } else if (ref?.kind === 'ReplicationController') {
      const rc = this.rcs.lister.getNamed(ns, ref.name) as ReplicationController | undefined;
      if (rc?.spec?.selector) out.push(fromLabelSelector({ matchLabels: rc.spec.selector }));
    }
    return out;
  }

  /** Filter and score; returns the chosen node or the FitError reasons. Pure apart from the rotating start. */
  private place(pod: Pod): { node?: string; reasons: Map<string, number>; total: number } {
    const all = [...this.infos.values()].filter((i) => i.node.status || i.node.spec);
    const want = numFeasibleNodesToFind(all.length);
    const feasible: NodeInfo[] = [];
    const reasons = new Map<string, number>();
    const start = this.nextStart % Math.max(1, all.length);
    const filters = filtersFor(pod);
    let visited = 0;
    for (; visited < all.length && feasible.length < want; visited++) {
      const info = all[(start + visited) % all.length];
      let failed: string[] | undefined;
      for (const f of filters) {
        failed = f(pod, info, all);
        if (failed) break;
      }
      if (failed) for (const r of failed) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      else feasible.push(info);
    }
    this.nextStart = start + visited;
    if (!feasible.length) return { reasons, total: all.length };
    const spread = selectorSpread(pod, feasible, this.spreadSelectors(pod));
    let best: NodeInfo[] = [];
    let bestScore = -Infinity;
    for (const info of feasible) {
      const s = leastAllocated(pod, info) + (spread.get(info.node.metadata?.name ?? '') ?? 0) * 2 + topologySpreadScore(pod, info, all) * 2;
      if (s > bestScore + 1e-9) {
        best = [info];
        bestScore = s;
      } else if (Math.abs(s - bestScore) <= 1e-9) best.push(info);
    }
    const chosen = best[Math.floor(Math.random() * best.length)];
    return { node: chosen.node.metadata?.name, reasons, total: all.length };
  }

  private scheduleOne(key: string, obj: KubeObject): void {
    const pod = asPod(obj);
    const { node, reasons, total } = this.place(pod);
    if (!node) {
      const attempts = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempts);
      this.unschedulable.set(key, attempts);
      this.unschedulableSince.set(key, Date.now());
      const message = total === 0 ? 'no nodes available to schedule pods' : fitErrorMessage(total, reasons);
      void this.d.recorder.event(obj, 'Warning', 'FailedScheduling', message);
      void this.markUnschedulable(obj, message);
      return;
    }
    this.attempts.delete(key);
    // Assume: count the pod on the node now, so the next pod sees it.
    // (A pod in the queue has a spec; validation requires it.)
    const assumed: Pod = { ...pod, spec: { ...pod.spec, nodeName: node } as PodSpec };
    this.assumed.set(key, node);
    addPod(this.nodeInfo(node), key, assumed);
    this.inflight++;
    void this.bind(key, obj, node).finally(() => this.inflight--);
  }

  private async bind(key: string, pod: KubeObject, node: string): Promise<void> {
    try {
      await this.d.client.create(
        { ...PODS, namespace: pod.metadata.namespace },
        {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace },
          target: { apiVersion: 'v1', kind: 'Node', name: node },
        },
        { subresource: 'binding', name: pod.metadata.name },
      );
      this.d.onBound?.(key, node);
      void this.d.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node}`);
    } catch (e) {
      // Forget the assumption; a conflict means someone else bound it (the informer will say where).
      if (this.assumed.get(key) === node) {
        this.assumed.delete(key);
        removePod(this.nodeInfo(node), key);
      }
      if (!isConflict(e) && !isNotFound(e)) {
        this.d.log.warn({ pod: key, node, err: String(e) }, 'binding failed');
        setTimeout(() => this.enqueue(key), 1000).unref();
      }
    }
  }

  private async markUnschedulable(obj: KubeObject, message: string): Promise<void> {
    const pod = asPod(obj);
    const cond = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
    if (cond?.status === 'False' && cond.message === message) return;
    const conditions = [
      ...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
      { type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: formatTime(), reason: 'Unschedulable', message },
    ];
    await this.d.client
      .patch({ ...PODS, namespace: obj.metadata.namespace }, obj.metadata.name!, { status: { conditions } }, 'application/strategic-merge-patch+json', 'status')
      .catch(() => undefined);
  }
}

/**
 * How long a pod that failed its `attempts`-th try at `lastAttempt` still waits at `now`: kube-scheduler's back-off,
 * 1 s doubling per attempt up to 10 s, from the last attempt. Pure.
 */
export function backoffLeft(attempts: number, lastAttempt: number, now: number): number {
  return Math.max(0, lastAttempt + Math.min(1000 * 2 ** Math.max(0, attempts - 1), 10_000) - now);
}
