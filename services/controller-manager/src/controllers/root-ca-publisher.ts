/**
 * The root CA certificate publisher: a `kube-root-ca.crt` ConfigMap holding
 * the cluster CA (key ca.crt) in every active namespace, put back when it is
 * deleted or changed. Pods read it through their kube-api-access volume.
 */
import { isAlreadyExists, isNotFound, type KubeObject } from '@kemu/api';
import { WorkQueue, type Informer } from '@kemu/client';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';

const NAME = 'kube-root-ca.crt';
const CONFIGMAPS = { version: 'v1', resource: 'configmaps' };

export class RootCAPublisher implements Controller {
  readonly name = 'root-ca-cert-publisher';
  private queue = new WorkQueue();
  private namespaces: Informer;
  private configMaps: Informer;

  constructor(private ctx: ControllerContext) {
    this.namespaces = ctx.informers.for(R.namespaces);
    this.configMaps = ctx.informers.for(CONFIGMAPS, { fieldSelector: `metadata.name=${NAME}` });
    this.namespaces.on({ add: (o) => this.queue.add(o.metadata.name!), update: (_a, b) => this.queue.add(b.metadata.name!) });
    const cm = (o: KubeObject) => this.queue.add(o.metadata.namespace!);
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
    const metadata = { name: NAME, namespace: ns, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } };
    try {
      if (!cur) await this.ctx.client.create({ ...CONFIGMAPS, namespace: ns }, { apiVersion: 'v1', kind: 'ConfigMap', metadata, data });
      else if ((cur as Record<string, any>).data?.['ca.crt'] !== ca) await this.ctx.client.update({ ...CONFIGMAPS, namespace: ns }, { ...structuredClone(cur), data }); // eslint-disable-line @typescript-eslint/no-explicit-any
    } catch (e) {
      if (!isAlreadyExists(e) && !isNotFound(e)) throw e;
    }
  }
}

export const rootCAPublisher = (ctx: ControllerContext) => new RootCAPublisher(ctx);
