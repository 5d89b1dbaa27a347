/** The service account controller: a `default` ServiceAccount in every active namespace. */
import { isAlreadyExists, type KubeObject } from '@kemu/api';
import { WorkQueue, type Informer } from '@kemu/client';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';

export class ServiceAccountController implements Controller {
  readonly name = 'serviceaccount';
  private queue = new WorkQueue();
  private namespaces: Informer;
  private accounts: Informer;

  constructor(private ctx: ControllerContext) {
    this.namespaces = ctx.informers.for(R.namespaces);
    this.accounts = ctx.informers.for(R.serviceaccounts);
    this.namespaces.on({ add: (o) => this.queue.add(o.metadata.name!), update: (_a, b) => this.queue.add(b.metadata.name!) });
    this.accounts.on({ delete: (o: KubeObject) => o.metadata.name === 'default' && this.queue.add(o.metadata.namespace!) });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(ns: string): Promise<void> {
    const namespace = this.namespaces.lister.get(ns);
    if (!namespace || namespace.metadata.deletionTimestamp || this.accounts.lister.getNamed(ns, 'default')) return;
    try {
      await this.ctx.client.create({ ...R.serviceaccounts, namespace: ns }, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
}

export const serviceAccountController = (ctx: ControllerContext) => new ServiceAccountController(ctx);
