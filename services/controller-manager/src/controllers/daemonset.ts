/**
 * The DaemonSet controller: one pod per node that the DaemonSet's selector,
 * affinity and tolerations admit (nodes coming and going are followed),
 * rolling updates one node at a time (maxUnavailable), and the status
 * `kubectl get ds` prints.
 */
import { isDeepStrictEqual } from 'node:util';
import { isNotFound, tolerates } from '@kemu/api';
import { keyOf, splitKey, WorkQueue } from '@kemu/client';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod, PodSpec, Toleration } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type Obj, type TypedInformer } from '../typed.js';
import { Expectations } from './expectations.js';
import { controllerRef, isActive, isAvailable, isReady, ownerRefFor } from './pod-util.js';
import { templateHash } from './deployment-util.js';

const HASH = 'controller-revision-hash';

/** The tolerations Kubernetes adds to every DaemonSet pod. */
export const DAEMON_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** Should this DaemonSet run a pod on this node? Pure. */
export function shouldRun(ds: DaemonSet, node: Node): boolean {
  if (node.metadata?.deletionTimestamp) return false;
  const spec: Partial<PodSpec> = ds.spec?.template?.spec ?? {};
  const labels: Record<string, string | undefined> = node.metadata?.labels ?? {};
  if (!Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v)) return false;
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms?.length) {
    const ok = terms.some((t) =>
      (t.matchExpressions ?? []).every((e) => {
        const v = labels[e.key];
        const values: (string | undefined)[] = e.values ?? [];
        return e.operator === 'In'
          ? values.includes(v)
          : e.operator === 'NotIn'
            ? !values.includes(v)
            : e.operator === 'Exists'
              ? v !== undefined
              : v === undefined;
      }),
    );
    if (!ok) return false;
  }
  const tols = [...(spec.tolerations ?? []), ...DAEMON_TOLERATIONS];
  return (node.spec?.taints ?? []).every((t) => t.effect === 'PreferNoSchedule' || tolerates(tols, t));
}

/**
 * Did a Node change in a way that can change where DaemonSet pods run? Labels, taints, unschedulable and deletion
 * do; status does not — a kubelet heartbeat must not re-sync every DaemonSet. By value: every event brings new objects.
 */
export function nodePlacementChanged(a: Node, b: Node): boolean {
  return (
    !isDeepStrictEqual(a.metadata?.labels ?? {}, b.metadata?.labels ?? {}) ||
    !isDeepStrictEqual(a.spec?.taints ?? [], b.spec?.taints ?? []) ||
    !!a.spec?.unschedulable !== !!b.spec?.unschedulable ||
    !!a.metadata?.deletionTimestamp !== !!b.metadata?.deletionTimestamp
  );
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  private queue = new WorkQueue();
  private expectations = new Expectations();
  private sets: TypedInformer<DaemonSet>;
  private nodes: TypedInformer<Node>;
  private pods: TypedInformer<Pod>;

  constructor(private ctx: ControllerContext) {
    this.sets = informerFor(ctx.informers, R.daemonsets);
    this.nodes = informerFor(ctx.informers, R.nodes);
    this.pods = informerFor(ctx.informers, R.pods);
    const all = () => this.sets.lister.list().forEach((d) => this.queue.add(keyOf(d)));
    this.sets.on({ add: (d) => this.queue.add(keyOf(d)), update: (_a, b) => this.queue.add(keyOf(b)), delete: (d) => this.expectations.delete(keyOf(d)) });
    this.nodes.on({ add: all, update: (a, b) => nodePlacementChanged(a, b) && all(), delete: all });
    this.pods.on({
      add: (p) => {
        if (p.metadata.deletionTimestamp) return this.podDeleted(p);
        const key = this.ownerKey(p);
        if (!key) return;
        this.expectations.creationObserved(key);
        this.queue.add(key);
      },
      update: (a, b) => {
        if (a.metadata.resourceVersion === b.metadata.resourceVersion) return;
        // Marked for deletion is deleted, for the DaemonSet (Kubernetes' updatePod): the node gets its new pod now,
        // not when the kubelet is done with the old one (never, if the node is gone).
        if (b.metadata.deletionTimestamp) return this.podDeleted(b);
        for (const key of new Set([this.ownerKey(a), this.ownerKey(b)])) if (key) this.queue.add(key);
      },
      delete: (p) => this.podDeleted(p),
    });
  }

  private ownerKey(p: Obj<Pod>): string | undefined {
    const ref = controllerRef(p);
    return ref?.kind === 'DaemonSet' ? `${p.metadata.namespace}/${ref.name}` : undefined;
  }

  /** Only the first sighting of an awaited deletion counts (marked, then removed, is one deletion). */
  private podDeleted(p: Obj<Pod>): void {
    const key = this.ownerKey(p);
    if (!key) return;
    this.expectations.deletionObserved(key, keyOf(p));
    this.queue.add(key);
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(key: string): Promise<void> {
    const ds = this.sets.lister.get(key);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const ns = splitKey(key).namespace!;
    const pods = clientFor(this.ctx.client, R.pods, ns);
    const hash = templateHash(ds.spec?.template);
    const nodes = this.nodes.lister.list();
    const owned = this.pods.lister.list(ns).filter((p) => controllerRef(p)?.uid === ds.metadata.uid && isActive(p));
    const byNode = new Map<string, Obj<Pod>[]>();
    for (const p of owned) byNode.set(p.spec?.nodeName ?? '', [...(byNode.get(p.spec?.nodeName ?? '') ?? []), p]);
    const wanted = nodes.filter((n) => shouldRun(ds, n));
    const wantedNames = new Set(wanted.map((n) => n.metadata.name!));
    const now = this.ctx.now().getTime();
    const minReady = ds.spec?.minReadySeconds ?? 0;

    if (this.expectations.satisfied(key)) {
      const create = wanted.filter((n) => !(byNode.get(n.metadata.name!) ?? []).length);
      const remove: Obj<Pod>[] = [];
      for (const [node, pods] of byNode) {
        if (!wantedNames.has(node)) remove.push(...pods);
        else remove.push(...pods.slice(1)); // one per node
      }
      // Rolling update: replace old pods while at most maxUnavailable are unavailable.
      if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
        const maxUnavailable = Number(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1) || 1;
        let unavailable = wanted.filter((n) => !(byNode.get(n.metadata.name!) ?? []).some((p) => isAvailable(p, minReady, now))).length;
        for (const n of wanted) {
          const p = (byNode.get(n.metadata.name!) ?? [])[0];
          if (!p || p.metadata.labels?.[HASH] === hash || remove.includes(p)) continue;
          if (!isAvailable(p, minReady, now)) remove.push(p);
          else if (unavailable < maxUnavailable) {
            remove.push(p);
            unavailable++;
          }
        }
      }
      this.expectations.expect(key, create.length, remove.map(keyOf));
      await Promise.all([
        ...create.map((n) =>
          this.createPod(ds, ns, n.metadata.name!, hash).catch((e: unknown) => {
            this.expectations.creationsFailed(key, 1);
            void this.ctx.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
          }),
        ),
        ...remove.map((p) =>
          pods.delete(p.metadata.name!).then(
            () => void this.ctx.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`),
            (e: unknown) => {
              this.expectations.deletionObserved(key, keyOf(p)); // a failed deletion will never be observed
              if (!isNotFound(e)) throw e;
            },
          ),
        ),
      ]);
    }

    const onWanted = owned.filter((p) => wantedNames.has(p.spec?.nodeName ?? ''));
    const status = {
      currentNumberScheduled: wanted.filter((n) => byNode.has(n.metadata.name!)).length,
      numberMisscheduled: [...byNode.keys()].filter((n) => n && !wantedNames.has(n)).length,
      desiredNumberScheduled: wanted.length,
      numberReady: onWanted.filter(isReady).length,
      observedGeneration: ds.metadata.generation,
      updatedNumberScheduled: onWanted.filter((p) => p.metadata.labels?.[HASH] === hash).length,
      numberAvailable: onWanted.filter((p) => isAvailable(p, minReady, now)).length,
    };
    const full = { ...status, ...(wanted.length - status.numberAvailable > 0 ? { numberUnavailable: wanted.length - status.numberAvailable } : {}) };
    if (JSON.stringify(full) !== JSON.stringify(ds.status ?? {})) {
      await clientFor(this.ctx.client, R.daemonsets, ns)
        .update({ ...structuredClone(ds), status: full }, 'status')
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
    }
  }

  private async createPod(ds: Obj<DaemonSet>, ns: string, node: string, hash: string): Promise<void> {
    const tpl = ds.spec?.template ?? {};
    // Validation gives every template a spec; an empty one (refused by the api-server) only for an object that lacks it.
    const tplSpec = structuredClone(tpl.spec) ?? ({} as PodSpec);
    const tols = [...(tplSpec.tolerations ?? [])];
    for (const t of DAEMON_TOLERATIONS) if (!tols.some((x) => x.key === t.key && x.effect === t.effect)) tols.push(t);
    const spec: PodSpec = { ...tplSpec, nodeName: node, tolerations: tols };
    const created = await clientFor(this.ctx.client, R.pods, ns).create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${ds.metadata.name}-`,
        namespace: ns,
        labels: { ...(tpl.metadata?.labels ?? {}), [HASH]: hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) },
        ownerReferences: [ownerRefFor(ds)],
      },
      spec,
    });
    void this.ctx.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
  }
}

export const daemonSetController = (ctx: ControllerContext) => new DaemonSetController(ctx);
