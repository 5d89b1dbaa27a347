/**
 * The ReplicaSet / ReplicationController control loop (one implementation,
 * two kinds): get the owner from the lister → check expectations → claim
 * pods (adopt orphans that match, release those that no longer do) → create
 * or delete the difference in slow-start batches → compute status with a
 * pure function → write status.
 */
import { isDeepStrictEqual } from 'node:util';
import { formatTime, fromLabelSelector, isNotFound, matches, type Selector } from '@kemu/api';
import { keyOf, splitKey, WorkQueue } from '@kemu/client';
import type { ReplicaSetCondition, ReplicaSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type KindId, type Kinds, type Obj, type TypedClient, type TypedInformer } from '../typed.js';
import { Expectations } from './expectations.js';
import { controllerRef, deletionOrder, isActive, isAvailable, isReady, ownerRefFor } from './pod-util.js';

/** The resources of the two owner kinds. */
export type ReplicaResource = 'replicasets' | 'replicationcontrollers';

export interface ReplicaKind<K extends ReplicaResource> {
  name: string;
  resource: KindId<K>;
  /** The owner's selector, or undefined when it selects nothing. */
  selector(owner: Kinds[K]): Selector | undefined;
}

/** At most this many pods per sync, as Kubernetes' burstReplicas. */
const BURST = 500;

export const replicaSetKind: ReplicaKind<'replicasets'> = {
  name: 'replicaset',
  resource: R.replicasets,
  selector: (o) => (o.spec?.selector ? fromLabelSelector(o.spec.selector) : undefined),
};

export const replicationControllerKind: ReplicaKind<'replicationcontrollers'> = {
  name: 'replicationcontroller',
  resource: R.replicationcontrollers,
  selector: (o) => (o.spec?.selector && Object.keys(o.spec.selector).length ? fromLabelSelector({ matchLabels: o.spec.selector }) : undefined),
};

/** Status as Kubernetes computes it for a ReplicaSet or ReplicationController. Pure. */
export function replicaStatus(owner: Obj<Kinds[ReplicaResource]>, pods: Pod[], now: number, failure?: string): ReplicaSetStatus {
  const tplLabels = owner.spec?.template?.metadata?.labels ?? {};
  const minReady = owner.spec?.minReadySeconds ?? 0;
  const fully = pods.filter((p) => Object.entries(tplLabels).every(([k, v]) => p.metadata?.labels?.[k] === v)).length;
  // A ReplicationController's conditions have the same shape.
  const conditions: ReplicaSetCondition[] = (owner.status?.conditions ?? []).filter((c) => c.type !== 'ReplicaFailure');
  if (failure) conditions.push({ type: 'ReplicaFailure', status: 'True', lastTransitionTime: formatTime(now), reason: 'FailedCreate', message: failure });
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: fully,
    readyReplicas: pods.filter(isReady).length,
    availableReplicas: pods.filter((p) => isAvailable(p, minReady, now)).length,
    observedGeneration: owner.metadata.generation,
  };
  if (conditions.length) status.conditions = conditions;
  return status;
}

/** Run `fn` count times in batches of 1, 2, 4, ...; stop at the first batch with a failure. Returns successes. */
export async function slowStartBatch(count: number, fn: () => Promise<void>): Promise<{ ok: number; error?: unknown }> {
  let ok = 0;
  let remaining = count;
  for (let batch = 1; remaining > 0; batch *= 2) {
    const size = Math.min(batch, remaining);
    const results = await Promise.allSettled(Array.from({ length: size }, fn));
    ok += results.filter((r) => r.status === 'fulfilled').length;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) return { ok, error: failed.reason };
    remaining -= size;
  }
  return { ok };
}

export class ReplicaController<K extends ReplicaResource> implements Controller {
  readonly name: string;
  private queue = new WorkQueue();
  private expectations = new Expectations();
  private owners: TypedInformer<Kinds[K]>;
  private pods: TypedInformer<Pod>;

  constructor(
    private ctx: ControllerContext,
    private kind: ReplicaKind<K>,
  ) {
    this.name = kind.name;
    this.owners = informerFor(ctx.informers, kind.resource);
    this.pods = informerFor(ctx.informers, R.pods);
    this.owners.on({
      add: (o) => this.queue.add(keyOf(o)),
      update: (_a, b) => this.queue.add(keyOf(b)),
      delete: (o) => {
        this.expectations.delete(keyOf(o));
        this.queue.add(keyOf(o));
      },
    });
    this.pods.on({
      add: (p) => {
        // A pod already marked for deletion (seen after a restart or relist) is a deletion, as in Kubernetes' addPod.
        if (p.metadata.deletionTimestamp) return this.podDeleted(p);
        const owner = this.ownerKey(p);
        if (owner) {
          this.expectations.creationObserved(owner);
          this.queue.add(owner);
        } else this.matchingOwners(p).forEach((k) => this.queue.add(k));
      },
      update: (a, b) => {
        if (a.metadata.resourceVersion === b.metadata.resourceVersion) return;
        // The api-server marks a pod (deletionTimestamp) long before the kubelet removes it — or never, when its node
        // is gone. The mark is the deletion the owner waits for: it replaces the pod at once, as Kubernetes' updatePod.
        if (b.metadata.deletionTimestamp) {
          this.podDeleted(b);
          if (!isDeepStrictEqual(a.metadata.labels, b.metadata.labels)) this.podDeleted(a);
          return;
        }
        for (const p of [a, b]) {
          const owner = this.ownerKey(p);
          if (owner) this.queue.add(owner);
          else this.matchingOwners(p).forEach((k) => this.queue.add(k));
        }
      },
      delete: (p) => this.podDeleted(p),
    });
  }

  /** A pod deleted or marked for deletion: its owner may stop waiting for it (only the first sighting counts). */
  private podDeleted(p: Obj<Pod>): void {
    const owner = this.ownerKey(p);
    if (!owner) return;
    this.expectations.deletionObserved(owner, keyOf(p));
    this.queue.add(owner);
  }

  /** The owner key of a pod this kind controls. */
  private ownerKey(p: Obj<Pod>): string | undefined {
    const ref = controllerRef(p);
    if (!ref) return undefined;
    const owner = this.owners.lister.getNamed(p.metadata.namespace, ref.name);
    if (!owner || owner.metadata.uid !== ref.uid) return undefined;
    return keyOf(owner);
  }

  private matchingOwners(p: Obj<Pod>): string[] {
    return this.owners.lister
      .list(p.metadata.namespace)
      .filter((o) => {
        const sel = this.kind.selector(o);
        return sel && sel.length > 0 && matches(sel, p.metadata.labels);
      })
      .map(keyOf);
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(key: string): Promise<void> {
    const owner = this.owners.lister.get(key);
    if (!owner) {
      this.expectations.delete(key);
      return;
    }
    const { namespace } = splitKey(key);
    const pods = clientFor(this.ctx.client, R.pods, namespace);
    const sel = this.kind.selector(owner);
    const all = this.pods.lister.list(namespace);
    const owned: Obj<Pod>[] = [];
    for (const p of all) {
      const ref = controllerRef(p);
      const matchesSel = !!sel && sel.length > 0 && matches(sel, p.metadata.labels);
      if (ref?.uid === owner.metadata.uid) {
        if (matchesSel || owner.metadata.deletionTimestamp) owned.push(p);
        else await this.release(pods, p, owner);
      } else if (!ref && matchesSel && !p.metadata.deletionTimestamp && !owner.metadata.deletionTimestamp) {
        if (await this.adopt(pods, p, owner)) owned.push(p);
      }
    }
    const active = owned.filter(isActive);
    let failure: string | undefined;
    if (this.expectations.satisfied(key) && !owner.metadata.deletionTimestamp) {
      const diff = active.length - (owner.spec?.replicas ?? 1);
      if (diff < 0) failure = await this.create(key, owner, Math.min(-diff, BURST));
      else if (diff > 0) await this.remove(key, owner, active, Math.min(diff, BURST));
    }
    const status = replicaStatus(owner, active, this.ctx.now().getTime(), failure);
    if (JSON.stringify(status) !== JSON.stringify(owner.status ?? {})) {
      try {
        await clientFor(this.ctx.client, this.kind.resource, namespace).update({ ...structuredClone(owner), status }, 'status');
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (failure) throw new Error(failure); // retried with back-off, as Kubernetes does
  }

  private async adopt(pods: TypedClient<Pod>, p: Obj<Pod>, owner: Obj<Kinds[K]>): Promise<boolean> {
    try {
      await pods.patch(
        p.metadata.name!,
        { metadata: { uid: p.metadata.uid, ownerReferences: [...(p.metadata.ownerReferences ?? []), ownerRefFor(owner)] } },
        'application/merge-patch+json',
      );
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  private async release(pods: TypedClient<Pod>, p: Obj<Pod>, owner: Obj<Kinds[K]>): Promise<void> {
    const refs = (p.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid);
    try {
      await pods.patch(p.metadata.name!, { metadata: { uid: p.metadata.uid, ownerReferences: refs.length ? refs : null } }, 'application/merge-patch+json');
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  private async create(key: string, owner: Obj<Kinds[K]>, n: number): Promise<string | undefined> {
    const ns = owner.metadata.namespace!;
    const tpl = owner.spec?.template ?? {};
    this.expectations.expect(key, n);
    const pod = (): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${owner.metadata.name}-`,
        namespace: ns,
        labels: { ...(tpl.metadata?.labels ?? {}) },
        ...(tpl.metadata?.annotations ? { annotations: { ...tpl.metadata.annotations } } : {}),
        ownerReferences: [ownerRefFor(owner)],
      },
      // Validation gives every template a spec; an empty one (refused by the api-server) only for an object that lacks it.
      spec: structuredClone(tpl.spec) ?? ({} as PodSpec),
    });
    const r = await slowStartBatch(n, async () => {
      const created = await clientFor(this.ctx.client, R.pods, ns).create(pod());
      void this.ctx.recorder.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    });
    if (r.error) {
      this.expectations.creationsFailed(key, n - r.ok);
      const message = `Error creating: ${(r.error as Error).message}`;
      void this.ctx.recorder.event(owner, 'Warning', 'FailedCreate', message);
      return message;
    }
    return undefined;
  }

  private async remove(key: string, owner: Obj<Kinds[K]>, active: Obj<Pod>[], n: number): Promise<void> {
    const victims = [...active].sort(deletionOrder).slice(0, n);
    this.expectations.expect(key, 0, victims.map(keyOf));
    await Promise.all(
      victims.map(async (p) => {
        try {
          await clientFor(this.ctx.client, R.pods, p.metadata.namespace).delete(p.metadata.name!);
          void this.ctx.recorder.event(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
        } catch (e) {
          this.expectations.deletionObserved(key, keyOf(p)); // a failed deletion will never be observed
          if (!isNotFound(e)) throw e;
        }
      }),
    );
  }
}
