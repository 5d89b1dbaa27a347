/**
 * The ResourceQuota controller: keeps each quota's status true — `hard` as
 * the spec says, `used` as counted from the namespace's objects — when
 * objects come and go, and at least every 30 seconds.
 */
import { addUsage, charge, isNotFound, showQuantity, storedResources, type KubeObject, type Usage } from '@kemu/api';
import { keyOf, splitKey, WorkQueue } from '@kemu/client';
import type { ResourceQuota } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type TypedInformer } from '../typed.js';

const WATCHED = [R.pods, R.services, R.configmaps, { version: 'v1', resource: 'secrets' }, R.replicationcontrollers];

/** Which stored resources a quota's `hard` keys are counted from. */
function resourcesFor(hard: Record<string, unknown>) {
  const all = storedResources().filter((r) => r.namespaced);
  return all.filter((r) =>
    Object.keys(hard).some((k) => {
      if (k.startsWith('count/')) return k === `count/${r.group ? `${r.resource}.${r.group}` : r.resource}`;
      if (r.storage === 'pods') return k === 'pods' || /^(requests|limits)\.|^(cpu|memory)$/.test(k);
      if (r.storage === 'services') return k.startsWith('services');
      return k === r.storage;
    }),
  );
}

export class ResourceQuotaController implements Controller {
  readonly name = 'resourcequota';
  private queue = new WorkQueue();
  private quotas: TypedInformer<ResourceQuota>;

  constructor(private ctx: ControllerContext) {
    this.quotas = informerFor(ctx.informers, R.resourcequotas);
    this.quotas.on({ add: (q) => this.queue.add(keyOf(q)), update: (a, b) => a.spec !== b.spec && this.queue.add(keyOf(b)) });
    const touched = (o: KubeObject) => this.quotas.lister.list(o.metadata.namespace).forEach((q) => this.queue.addAfter(keyOf(q), 200));
    for (const r of WATCHED) ctx.informers.for(r).on({ add: touched, update: (_a, b) => touched(b), delete: touched });
  }

  async run(workers: number, signal: AbortSignal): Promise<void> {
    const resync = setInterval(() => this.quotas.lister.list().forEach((q) => this.queue.add(keyOf(q))), 30_000);
    signal.addEventListener('abort', () => clearInterval(resync), { once: true });
    await runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(key: string): Promise<void> {
    const quota = this.quotas.lister.get(key);
    if (!quota) return;
    const { namespace } = splitKey(key);
    const hard = quota.spec?.hard ?? {};
    let used: Usage = {};
    for (const r of resourcesFor(hard)) {
      const { items } = await this.ctx.client.list({ group: r.group, version: r.version, resource: r.resource, namespace });
      for (const o of items) used = addUsage(used, charge(r.storage, r.group, o));
    }
    const status = {
      hard: { ...hard },
      used: Object.fromEntries(
        Object.keys(hard)
          .sort()
          .map((k) => [k, showQuantity(k, used[k] ?? 0)]),
      ),
    };
    if (JSON.stringify(status) === JSON.stringify(quota.status ?? {})) return;
    await clientFor(this.ctx.client, R.resourcequotas, namespace)
      .update({ ...structuredClone(quota), status }, 'status')
      .catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
  }
}

export const resourceQuotaController = (ctx: ControllerContext) => new ResourceQuotaController(ctx);
