/**
 * The garbage collector: an object whose owners are all gone is deleted;
 * an owner deleted with propagationPolicy Orphan has its dependents' owner
 * references removed, then its `orphan` finalizer; one deleted with
 * Foreground has its dependents deleted first, then its
 * `foregroundDeletion` finalizer removed. Background deletion is the first
 * rule at work.
 */
import { isNotFound, type KubeObject, type OwnerReference } from '@kemu/api';
import { keyOf, WorkQueue, type Informer, type ResourceId } from '@kemu/client';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';

/** The kinds whose ownership the collector follows, by Kind. */
const TRACKED: Record<string, ResourceId> = {
  Pod: R.pods,
  ReplicaSet: R.replicasets,
  Deployment: R.deployments,
  ReplicationController: R.replicationcontrollers,
  DaemonSet: R.daemonsets,
  Service: { version: 'v1', resource: 'services' },
  ConfigMap: { version: 'v1', resource: 'configmaps' },
  Secret: { version: 'v1', resource: 'secrets' },
  EndpointSlice: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' },
  // Mirrored EndpointSlices are owned by the Endpoints they copy.
  Endpoints: { version: 'v1', resource: 'endpoints' },
  // A node's Lease is owned by its Node: deleting the Node removes the Lease.
  Node: R.nodes,
  Lease: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
};
const CLUSTER_SCOPED = new Set(['Node']);

export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  private queue = new WorkQueue();
  private informers = new Map<string, Informer>();

  constructor(private ctx: ControllerContext) {
    for (const [kind, ref] of Object.entries(TRACKED)) {
      const inf = ctx.informers.for(ref);
      this.informers.set(kind, inf);
      const look = (o: KubeObject) => {
        if ((o.metadata.ownerReferences ?? []).length) this.queue.add(`dep|${kind}|${keyOf(o)}`);
        const f = o.metadata.finalizers ?? [];
        if (o.metadata.deletionTimestamp && (f.includes('orphan') || f.includes('foregroundDeletion'))) this.queue.add(`own|${kind}|${keyOf(o)}`);
      };
      inf.on({
        add: look,
        update: (_a, b) => look(b),
        delete: (o) => {
          // Dependents of a deleted owner, and a foreground owner waiting on this dependent.
          for (const dep of this.dependents(o)) this.queue.add(`dep|${dep.kind}|${keyOf(dep.obj)}`);
          for (const ref of o.metadata.ownerReferences ?? []) {
            const owner = this.byUid(ref.kind, ref.uid);
            if (owner) this.queue.add(`own|${ref.kind}|${keyOf(owner)}`);
          }
        },
      });
    }
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  private byUid(kind: string, uid: string): KubeObject | undefined {
    return this.informers.get(kind)?.lister.byIndex('uid', uid)[0];
  }

  private dependents(owner: KubeObject): { kind: string; obj: KubeObject }[] {
    const out: { kind: string; obj: KubeObject }[] = [];
    for (const [kind, inf] of this.informers) for (const obj of inf.lister.byIndex('owner', owner.metadata.uid!)) out.push({ kind, obj });
    return out;
  }

  async sync(item: string): Promise<void> {
    const [role, kind, key] = item.split('|');
    const inf = this.informers.get(kind);
    const obj = inf?.lister.get(key);
    if (!obj) return;
    if (role === 'own') return this.finalizeOwner(kind, obj);
    return this.checkDependent(kind, obj);
  }

  /** Does the owner named by `ref` still exist (cache first, then the API to be sure)? */
  private async ownerExists(ns: string | undefined, ref: OwnerReference): Promise<KubeObject | undefined | 'unknown'> {
    const cached = this.byUid(ref.kind, ref.uid);
    if (cached) return cached;
    const r = TRACKED[ref.kind];
    if (!r) return 'unknown'; // a kind we do not follow: leave the dependent alone
    try {
      const live = await this.ctx.client.get({ ...r, namespace: CLUSTER_SCOPED.has(ref.kind) ? undefined : ns }, ref.name);
      return live.metadata.uid === ref.uid ? live : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private async checkDependent(kind: string, obj: KubeObject): Promise<void> {
    const refs = obj.metadata.ownerReferences ?? [];
    if (!refs.length || obj.metadata.deletionTimestamp) return;
    const ref = { ...TRACKED[kind], namespace: obj.metadata.namespace };
    let alive = 0;
    let foregroundOwner = false;
    for (const r of refs) {
      const owner = await this.ownerExists(obj.metadata.namespace, r);
      if (owner === 'unknown') return;
      if (owner) {
        alive++;
        if (owner.metadata.deletionTimestamp && (owner.metadata.finalizers ?? []).includes('foregroundDeletion')) foregroundOwner = true;
      }
    }
    if (alive === 0) {
      await this.ctx.client.delete(ref, obj.metadata.name!, { propagationPolicy: 'Background', preconditions: { uid: obj.metadata.uid } }).catch(ignoreGone);
    } else if (foregroundOwner && alive === 1) {
      await this.ctx.client
        .delete(ref, obj.metadata.name!, { propagationPolicy: this.cascadeFor(obj), preconditions: { uid: obj.metadata.uid } })
        .catch(ignoreGone);
    }
  }

  /**
   * How a dependent of a foreground deletion is deleted: Foreground only when
   * it has dependents of its own to wait for, else Background — as the
   * Kubernetes garbage collector's attemptToDeleteItem does, so a leaf
   * dependent gets no foregroundDeletion finalizer.
   */
  private cascadeFor(obj: KubeObject): 'Foreground' | 'Background' {
    return this.dependents(obj).length > 0 ? 'Foreground' : 'Background';
  }

  private async finalizeOwner(kind: string, owner: KubeObject): Promise<void> {
    const finalizers = owner.metadata.finalizers ?? [];
    const deps = this.dependents(owner);
    const ownerRef = { ...TRACKED[kind], namespace: owner.metadata.namespace };
    if (finalizers.includes('orphan')) {
      for (const d of deps) {
        const refs = (d.obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid);
        await this.ctx.client
          .patch(
            { ...TRACKED[d.kind], namespace: d.obj.metadata.namespace },
            d.obj.metadata.name!,
            { metadata: { uid: d.obj.metadata.uid, ownerReferences: refs.length ? refs : null } },
            'application/merge-patch+json',
          )
          .catch(ignoreGone);
      }
      await this.removeFinalizer(ownerRef, owner, 'orphan');
      return;
    }
    if (finalizers.includes('foregroundDeletion')) {
      const waiting = deps.filter((d) => (d.obj.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid));
      for (const d of waiting) {
        if (!d.obj.metadata.deletionTimestamp) {
          await this.ctx.client
            .delete({ ...TRACKED[d.kind], namespace: d.obj.metadata.namespace }, d.obj.metadata.name!, { propagationPolicy: this.cascadeFor(d.obj) })
            .catch(ignoreGone);
        }
      }
      if (waiting.length === 0) await this.removeFinalizer(ownerRef, owner, 'foregroundDeletion');
    }
  }

  private async removeFinalizer(ref: ResourceId, owner: KubeObject, finalizer: string): Promise<void> {
    const rest = (owner.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await this.ctx.client
      .patch(
        ref,
        owner.metadata.name!,
        { metadata: { resourceVersion: owner.metadata.resourceVersion, finalizers: rest.length ? rest : null } },
        'application/merge-patch+json',
      )
      .catch(ignoreGone);
  }
}

function ignoreGone(e: unknown): void {
  if (!isNotFound(e)) throw e;
}

export const garbageCollector = (ctx: ControllerContext) => new GarbageCollector(ctx);
