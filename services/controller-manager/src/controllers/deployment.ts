/**
 * The Deployment controller: ReplicaSets named `<deploy>-<pod-template-hash>`,
 * rolling updates within maxSurge / maxUnavailable, Recreate, revisions (and
 * so `kubectl rollout history|undo`), pause, history cleanup, and the status
 * and conditions `kubectl rollout status` follows.
 */
import { fromLabelSelector, isAlreadyExists, isNotFound, matches } from '@kemu/api';
import { keyOf, splitKey, WorkQueue } from '@kemu/client';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type Obj, type TypedInformer } from '../typed.js';
import { controllerRef, isActive, ownerRefFor } from './pod-util.js';
import {
  deploymentStatus,
  fenceposts,
  HASH_LABEL,
  newReplicaSetReplicas,
  REVISION,
  revisionOf,
  scaleDownOld,
  templateHash,
  templateKey,
} from './deployment-util.js';

const CHANGE_CAUSE = 'kubernetes.io/change-cause';

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private queue = new WorkQueue();
  private deployments: TypedInformer<Deployment>;
  private replicaSets: TypedInformer<ReplicaSet>;
  private pods: TypedInformer<Pod>;

  constructor(private ctx: ControllerContext) {
    this.deployments = informerFor(ctx.informers, R.deployments);
    this.replicaSets = informerFor(ctx.informers, R.replicasets);
    this.pods = informerFor(ctx.informers, R.pods);
    const enqueue = (o: Obj<Deployment>) => this.queue.add(keyOf(o));
    this.deployments.on({ add: enqueue, update: (_a, b) => enqueue(b), delete: enqueue });
    const byOwner = (rs: Obj<ReplicaSet>) => {
      const ref = controllerRef(rs);
      if (ref?.kind === 'Deployment') this.queue.add(`${rs.metadata.namespace}/${ref.name}`);
      else if (!ref)
        this.deployments.lister
          .list(rs.metadata.namespace)
          .filter((d) => d.spec?.selector && matches(fromLabelSelector(d.spec.selector), rs.metadata.labels))
          .forEach(enqueue);
    };
    this.replicaSets.on({ add: byOwner, update: (_a, b) => byOwner(b), delete: byOwner });
    // Recreate waits for old pods to be gone.
    this.pods.on({
      delete: (p) => {
        const ref = controllerRef(p);
        const rs = ref?.kind === 'ReplicaSet' ? this.replicaSets.lister.getNamed(p.metadata.namespace, ref.name) : undefined;
        if (rs) byOwner(rs);
      },
    });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  private rsClient(ns: string | undefined) {
    return clientFor(this.ctx.client, R.replicasets, ns);
  }

  async sync(key: string): Promise<void> {
    const d = this.deployments.lister.get(key);
    if (!d || d.metadata.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    const ns = namespace!;
    const selector = fromLabelSelector(d.spec?.selector ?? {});
    const owned: Obj<ReplicaSet>[] = [];
    for (const rs of this.replicaSets.lister.list(ns)) {
      const ref = controllerRef(rs);
      if (ref?.uid === d.metadata.uid) owned.push(rs);
      else if (!ref && selector.length && matches(selector, rs.metadata.labels) && !rs.metadata.deletionTimestamp) {
        const adopted = await this.rsClient(ns)
          .patch(rs.metadata.name!, { metadata: { uid: rs.metadata.uid, ownerReferences: [...(rs.metadata.ownerReferences ?? []), ownerRefFor(d)] } })
          .catch(() => undefined);
        if (adopted) owned.push(adopted);
      }
    }
    const tplKey = templateKey(d.spec?.template);
    let newRS = owned.find((rs) => templateKey(rs.spec?.template) === tplKey);
    const old = owned.filter((rs) => rs !== newRS);
    const maxOldRevision = Math.max(0, ...old.map(revisionOf));

    if (!d.spec?.paused) {
      if (!newRS) newRS = await this.createNewRS(d, owned, maxOldRevision);
      else if (revisionOf(newRS) <= maxOldRevision || newRS.metadata.annotations?.[CHANGE_CAUSE] !== d.metadata.annotations?.[CHANGE_CAUSE]) {
        // A rollback (the template matches an old ReplicaSet): it becomes the newest revision.
        const annotations: Record<string, string | null> = { [REVISION]: String(Math.max(revisionOf(newRS), maxOldRevision + 1)) };
        annotations[CHANGE_CAUSE] = d.metadata.annotations?.[CHANGE_CAUSE] ?? null;
        newRS = await this.rsClient(ns).patch(newRS.metadata.name!, { metadata: { annotations } });
      }
      if (!newRS) return;
      const all = [newRS, ...old];
      if (d.spec?.strategy?.type === 'Recreate') await this.recreate(d, newRS, old);
      else {
        const want = newReplicaSetReplicas(d, all, newRS);
        if (want !== (newRS.spec?.replicas ?? 0)) newRS = await this.scale(d, newRS, want);
        for (const [name, n] of scaleDownOld(d, newRS, old)) {
          const rs = old.find((x) => x.metadata.name === name)!;
          await this.scale(d, rs, n);
        }
      }
      await this.cleanup(d, old);
    } else if (newRS && (newRS.spec?.replicas ?? 0) !== (d.spec?.replicas ?? 1) && old.every((rs) => (rs.spec?.replicas ?? 0) === 0)) {
      // A paused deployment still follows `kubectl scale`.
      newRS = await this.scale(d, newRS, d.spec?.replicas ?? 1);
    }

    // Revision on the Deployment too (kubectl rollout undo patches /metadata/annotations), written with the
    // status as Kubernetes' controller does (UpdateStatus): through the main resource it would bump the generation.
    const rev = newRS ? newRS.metadata.annotations?.[REVISION] : undefined;
    const revised = !!rev && d.metadata.annotations?.[REVISION] !== rev;
    const current = revised ? { ...d, metadata: { ...d.metadata, annotations: { ...(d.metadata.annotations ?? {}), [REVISION]: rev } } } : d;
    const fresh = this.replicaSets.lister.list(ns).filter((rs) => controllerRef(rs)?.uid === d.metadata.uid);
    const newName = newRS?.metadata.name;
    const latestNew = newRS ? (fresh.find((rs) => rs.metadata.name === newName) ?? newRS) : undefined;
    const status = deploymentStatus(current, latestNew, fresh.length ? fresh : latestNew ? [latestNew] : [], this.ctx.now());
    if (revised || JSON.stringify(status) !== JSON.stringify(current.status ?? {})) {
      await clientFor(this.ctx.client, R.deployments, ns)
        .update({ ...structuredClone(current), status }, 'status')
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
    }
    const prog = status.conditions?.find((c) => c.type === 'Progressing');
    if (prog?.status === 'True' && prog.reason !== 'NewReplicaSetAvailable') this.queue.addAfter(key, ((d.spec?.progressDeadlineSeconds ?? 600) + 1) * 1000);
    // Pods become available minReadySeconds after Ready: look again then.
    if ((d.spec?.minReadySeconds ?? 0) > 0 && (status.availableReplicas ?? 0) < (d.spec?.replicas ?? 1))
      this.queue.addAfter(key, d.spec!.minReadySeconds! * 1000);
  }

  private async createNewRS(d: Obj<Deployment>, all: Obj<ReplicaSet>[], maxOldRevision: number): Promise<Obj<ReplicaSet> | undefined> {
    const ns = d.metadata.namespace!;
    const collisions = d.status?.collisionCount ?? 0;
    const spec = d.spec!;
    const hash = templateHash(spec.template, collisions);
    const labels = { ...(spec.template.metadata?.labels ?? {}), [HASH_LABEL]: hash };
    const tpl = { ...structuredClone(spec.template), metadata: { ...(spec.template.metadata ?? {}), labels } };
    const want = d.spec?.replicas ?? 1;
    const oldPods = all.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0);
    const initial = d.spec?.strategy?.type === 'Recreate' ? (oldPods ? 0 : want) : newReplicaSetReplicas(d, all, { spec: { replicas: 0 } });
    const { surge } = fenceposts(d);
    const rs: Obj<ReplicaSet> = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: ns,
        labels,
        annotations: {
          [REVISION]: String(maxOldRevision + 1),
          'deployment.kubernetes.io/desired-replicas': String(want),
          'deployment.kubernetes.io/max-replicas': String(want + surge),
          ...(d.metadata.annotations?.[CHANGE_CAUSE] ? { [CHANGE_CAUSE]: d.metadata.annotations[CHANGE_CAUSE] } : {}),
        },
        ownerReferences: [ownerRefFor(d)],
      },
      spec: {
        replicas: initial,
        minReadySeconds: d.spec?.minReadySeconds ?? 0,
        selector: { ...spec.selector, matchLabels: { ...(spec.selector?.matchLabels ?? {}), [HASH_LABEL]: hash } },
        template: tpl,
      },
    };
    try {
      const created = await this.rsClient(ns).create(rs);
      void this.ctx.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${initial}`);
      return created;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // A ReplicaSet of that name with another template: count a collision and try another name.
      const existing = await this.rsClient(ns).get(rs.metadata.name!);
      if (templateKey(existing.spec?.template) === templateKey(spec.template) && controllerRef(existing)?.uid === d.metadata.uid) return existing;
      await clientFor(this.ctx.client, R.deployments, ns).update(
        { ...structuredClone(d), status: { ...(d.status ?? {}), collisionCount: collisions + 1 } },
        'status',
      );
      return undefined;
    }
  }

  private async scale(d: Obj<Deployment>, rs: Obj<ReplicaSet>, replicas: number): Promise<Obj<ReplicaSet>> {
    const from = rs.spec?.replicas ?? 0;
    if (from === replicas) return rs;
    const { surge } = fenceposts(d);
    const updated = await this.rsClient(rs.metadata.namespace).patch(rs.metadata.name!, {
      metadata: {
        annotations: {
          'deployment.kubernetes.io/desired-replicas': String(d.spec?.replicas ?? 1),
          'deployment.kubernetes.io/max-replicas': String((d.spec?.replicas ?? 1) + surge),
        },
      },
      spec: { replicas },
    });
    void this.ctx.recorder.event(
      d,
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${replicas > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${replicas}`,
    );
    return updated;
  }

  private async recreate(d: Obj<Deployment>, newRS: Obj<ReplicaSet>, old: Obj<ReplicaSet>[]): Promise<void> {
    for (const rs of old) if ((rs.spec?.replicas ?? 0) > 0) await this.scale(d, rs, 0);
    const oldUids = new Set(old.map((rs) => rs.metadata.uid));
    const oldPodsLeft = this.pods.lister
      .list(d.metadata.namespace)
      .some((p) => oldUids.has(controllerRef(p)?.uid) && (isActive(p) || p.metadata.deletionTimestamp));
    if (!oldPodsLeft) await this.scale(d, newRS, d.spec?.replicas ?? 1);
  }

  /** Delete old, empty ReplicaSets beyond revisionHistoryLimit, oldest first. */
  private async cleanup(d: Obj<Deployment>, old: Obj<ReplicaSet>[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const empty = old
      .filter((rs) => (rs.spec?.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0 && !rs.metadata.deletionTimestamp)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of empty.slice(0, Math.max(0, empty.length - limit))) {
      await this.rsClient(rs.metadata.namespace)
        .delete(rs.metadata.name!)
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
    }
  }
}

export const deploymentController = (ctx: ControllerContext) => new DeploymentController(ctx);
