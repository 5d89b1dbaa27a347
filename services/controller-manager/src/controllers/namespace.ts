/**
 * The namespace controller: a namespace being deleted (phase Terminating) is
 * emptied of every namespaced object, then its `kubernetes` finalizer is
 * removed and it goes.
 */
import { isNotFound, storedResources } from '@kemu/api';
import { keyOf, WorkQueue } from '@kemu/client';
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type Obj, type TypedInformer } from '../typed.js';

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private queue = new WorkQueue();
  private namespaces: TypedInformer<Namespace>;

  constructor(private ctx: ControllerContext) {
    this.namespaces = informerFor(ctx.informers, R.namespaces);
    const enqueue = (o: Obj<Namespace>) => o.metadata.deletionTimestamp && this.queue.add(keyOf(o));
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
            this.ctx.client.delete(ref, o.metadata.name!, { propagationPolicy: 'Background' }).catch((e: unknown) => {
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
      await clientFor(this.ctx.client, R.namespaces)
        .update({ ...structuredClone(ns), spec: { ...ns.spec, finalizers: [] } }, 'finalize')
        .catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
    }
    await clientFor(this.ctx.client, R.namespaces)
      .delete(name)
      .catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
  }
}

export const namespaceController = (ctx: ControllerContext) => new NamespaceController(ctx);
