/** The service account controller: a `default` ServiceAccount in every active namespace. */
import { isAlreadyExists } from '@kemu/api';
import { WorkQueue } from '@kemu/client';
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type TypedInformer } from '../typed.js';

export class ServiceAccountController implements Controller {
  readonly name = 'serviceaccount';
  private queue = new WorkQueue();
  private namespaces: TypedInformer<Namespace>;
  private accounts: TypedInformer<ServiceAccount>;

  constructor(private ctx: ControllerContext) {
    this.namespaces = informerFor(ctx.informers, R.namespaces);
    this.accounts = informerFor(ctx.informers, R.serviceaccounts);
    this.namespaces.on({ add: (o) => this.queue.add(o.metadata.name!), update: (_a, b) => this.queue.add(b.metadata.name!) });
    this.accounts.on({ delete: (o) => o.metadata.name === 'default' && this.queue.add(o.metadata.namespace!) });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(ns: string): Promise<void> {
    const namespace = this.namespaces.lister.get(ns);
    if (!namespace || namespace.metadata.deletionTimestamp || this.accounts.lister.getNamed(ns, 'default')) return;
    try {
      await clientFor(this.ctx.client, R.serviceaccounts, ns).create({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace: ns },
      });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}

export const serviceAccountController = (ctx: ControllerContext) => new ServiceAccountController(ctx);
