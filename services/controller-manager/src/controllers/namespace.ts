/**
 * The namespace controller: a namespace being deleted (phase Terminating) is
 * emptied of every namespaced object, then its `kubernetes` finalizer is
 * removed and it goes.
 */
import { isNotFound, storedResources, type KubeObject } from '@kemu/api';
import { keyOf, WorkQueue, type Informer } from '@kemu/client';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private queue = new WorkQueue();
  private namespaces: Informer;

  constructor(private ctx: ControllerContext) {
    this.namespaces = ctx.informers.for(R.namespaces);
    const enqueue = (o: KubeObject) => o.metadata.deletionTimestamp && this.queue.add(keyOf(o));
    this.namespaces.on({ add: enqueue, update: (_a, b) => enqueue(b) });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(name: string): Promise<void> {
    const ns = this.namespaces.lister.get(name);
    if (!ns?.metadata.deletionTimestamp) return;
    let left = 0;
    for (const info of storedResources().filter((r) => r.namespaced)) {
      const ref = { group: info.group, version: info.version, resource: info.resource, namespace: name };
      const { items } = await this.ctx.client.list(ref);
      left += items.length;
      await Promise.all(
        items
          .filter((o) => !o.metadata.deletionTimestamp)
          .map((o) =>
            this.ctx.client.delete(ref, o.metadata.name!, { propagationPolicy: 'Background' }).catch((e) => {
              if (!isNotFound(e)) throw e;
            }),
          ),
      );
    }
    if (left > 0) {
      // Pods take their grace period; look again shortly.
      this.queue.addAfter(name, 1000);
      return;
    }
    if ((ns.spec?.finalizers ?? []).length) {
      await this.ctx.client.update(R.namespaces, { ...structuredClone(ns), spec: { ...ns.spec, finalizers: [] } }, 'finalize').catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    }
    await this.ctx.client.delete(R.namespaces, name).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }
}

export const namespaceController = (ctx: ControllerContext) => new NamespaceController(ctx);
