/**
 * The root CA certificate publisher: a `kube-root-ca.crt` ConfigMap holding
 * the cluster CA (key ca.crt) in every active namespace, put back when it is
 * deleted or changed. Pods read it through their kube-api-access volume.
 */
import { isAlreadyExists, isNotFound } from '@kemu/api';
import { WorkQueue } from '@kemu/client';
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type Obj, type TypedInformer } from '../typed.js';

const NAME = 'kube-root-ca.crt';

export class RootCAPublisher implements Controller {
  readonly name = 'root-ca-cert-publisher';
  private queue = new WorkQueue();
  private namespaces: TypedInformer<Namespace>;
  private configMaps: TypedInformer<ConfigMap>;

  constructor(private ctx: ControllerContext) {
    this.namespaces = informerFor(ctx.informers, R.namespaces);
    this.configMaps = informerFor(ctx.informers, R.configmaps, { fieldSelector: `metadata.name=${NAME}` });
    this.namespaces.on({ add: (o) => this.queue.add(o.metadata.name!), update: (_a, b) => this.queue.add(b.metadata.name!) });
    const cm = (o: Obj<ConfigMap>) => this.queue.add(o.metadata.namespace!);
    this.configMaps.on({ update: (_a, b) => cm(b), delete: cm });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(ns: string): Promise<void> {
    const ca = this.ctx.rootCA;
    const namespace = this.namespaces.lister.get(ns);
    if (!ca || !namespace || namespace.metadata.deletionTimestamp) return;
    const cur = this.configMaps.lister.getNamed(ns, NAME);
    const data = { 'ca.crt': ca };
    const metadata = {
      name: NAME,
      namespace: ns,
      annotations: {
        'kubernetes.io/description':
          'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
      },
    };
    try {
      const configMaps = clientFor(this.ctx.client, R.configmaps, ns);
      if (!cur) await configMaps.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data });
      else if (cur.data?.['ca.crt'] !== ca) await configMaps.update({ ...structuredClone(cur), data });
    } catch (e) {
      if (!isAlreadyExists(e) && !isNotFound(e)) throw e;
    }
  }
}

export const rootCAPublisher = (ctx: ControllerContext) => new RootCAPublisher(ctx);
