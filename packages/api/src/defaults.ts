/**
 * Defaulting, as Kubernetes' SetDefaults_* and the default admission plugins
 * do it, applied to the storage form before validation. Pure: takes an
 * object, returns a defaulted copy.
 */
import type { ResourceInfo } from './registry.js';
import type { KubeObject } from './types.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const isPlainObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function setIfAbsent(o: Obj, k: string, v: unknown): void {
  if (o[k] === undefined || o[k] === null) o[k] = v;
}

/** `nginx` and `nginx:latest` are pulled Always; a tag or digest means IfNotPresent. */
export function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.split('/').pop() ?? image;
  const tag = last.includes(':') ? last.split(':').pop() : undefined;
  return !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(c: Obj): void {
  if (!isPlainObject(c)) return;
  if (typeof c.image === 'string') setIfAbsent(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  setIfAbsent(c, 'terminationMessagePath', '/dev/termination-log');
  setIfAbsent(c, 'terminationMessagePolicy', 'File');
  setIfAbsent(c, 'resources', {});
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isPlainObject(p)) setIfAbsent(p, 'protocol', 'TCP');
  // Requests default to limits when only limits are given.
  const r = c.resources;
  if (isPlainObject(r) && isPlainObject(r.limits)) {
    const req: Obj = isPlainObject(r.requests) ? r.requests : {};
    for (const [k, v] of Object.entries(r.limits)) if (req[k] === undefined) req[k] = v;
    r.requests = req;
  }
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const p = c[probe];
    if (!isPlainObject(p)) continue;
    setIfAbsent(p, 'timeoutSeconds', 1);
    setIfAbsent(p, 'periodSeconds', 10);
    setIfAbsent(p, 'successThreshold', 1);
    setIfAbsent(p, 'failureThreshold', 3);
    if (isPlainObject(p.httpGet)) {
      setIfAbsent(p.httpGet, 'path', '/');
      setIfAbsent(p.httpGet, 'scheme', 'HTTP');
    }
  }
}

/** PodSpec defaults (pods and pod templates). */
export function defaultPodSpec(spec: Obj): void {
  if (!isPlainObject(spec)) return;
  setIfAbsent(spec, 'restartPolicy', 'Always');
  setIfAbsent(spec, 'terminationGracePeriodSeconds', 30);
  setIfAbsent(spec, 'dnsPolicy', 'ClusterFirst');
  setIfAbsent(spec, 'securityContext', {});
  setIfAbsent(spec, 'schedulerName', 'default-scheduler');
  setIfAbsent(spec, 'enableServiceLinks', true);
  if (spec.serviceAccount && !spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount;
  for (const key of ['containers', 'initContainers']) {
    if (Array.isArray(spec[key])) for (const c of spec[key]) defaultContainer(c);
  }
  if (Array.isArray(spec.volumes)) {
    for (const v of spec.volumes) {
      if (!isPlainObject(v)) continue;
      if (isPlainObject(v.secret)) setIfAbsent(v.secret, 'defaultMode', 420);
      if (isPlainObject(v.configMap)) setIfAbsent(v.configMap, 'defaultMode', 420);
      if (isPlainObject(v.downwardAPI)) setIfAbsent(v.downwardAPI, 'defaultMode', 420);
      if (isPlainObject(v.projected)) setIfAbsent(v.projected, 'defaultMode', 420);
      if (isPlainObject(v.hostPath)) setIfAbsent(v.hostPath, 'type', '');
    }
  }
}

function defaultTemplate(spec: Obj): void {
  if (isPlainObject(spec.template)) {
    setIfAbsent(spec.template, 'metadata', {});
    setIfAbsent(spec.template.metadata, 'creationTimestamp', null);
    defaultPodSpec(spec.template.spec);
  }
}

function defaultService(spec: Obj): void {
  setIfAbsent(spec, 'type', 'ClusterIP');
  setIfAbsent(spec, 'sessionAffinity', 'None');
  if (spec.type !== 'ExternalName') {
    setIfAbsent(spec, 'ipFamilies', ['IPv4']);
    setIfAbsent(spec, 'ipFamilyPolicy', 'SingleStack');
    setIfAbsent(spec, 'internalTrafficPolicy', 'Cluster');
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setIfAbsent(spec, 'externalTrafficPolicy', 'Cluster');
  if (spec.type === 'LoadBalancer') setIfAbsent(spec, 'allocateLoadBalancerNodePorts', true);
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports) {
      if (!isPlainObject(p)) continue;
      setIfAbsent(p, 'protocol', 'TCP');
      // A headless service without selector keeps targetPort unset in Kubernetes too; others default to port.
      if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
    }
  }
}

/** Apply the defaults for the resource's storage form. */
export function applyDefaults(info: ResourceInfo, input: KubeObject): KubeObject {
  const obj = structuredClone(input) as Obj;
  obj.metadata ??= {};
  const spec: Obj = isPlainObject(obj.spec) ? obj.spec : undefined as unknown as Obj;
  switch (info.storage) {
    case 'pods':
      if (spec) defaultPodSpec(spec);
      obj.status ??= {};
      setIfAbsent(obj.status, 'phase', 'Pending');
      if (spec) {
        setIfAbsent(spec, 'priority', 0);
        setIfAbsent(spec, 'preemptionPolicy', 'PreemptLowerPriority');
        setIfAbsent(spec, 'serviceAccountName', 'default');
        setIfAbsent(spec, 'serviceAccount', spec.serviceAccountName);
        // The DefaultTolerationSeconds admission plugin.
        spec.tolerations ??= [];
        for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
          if (!spec.tolerations.some((t: Obj) => t?.key === key || (t?.operator === 'Exists' && !t?.key))) {
            spec.tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
          }
        }
        setIfAbsent(obj.status, 'qosClass', qosClass(spec));
      }
      break;
    case 'services':
      if (spec) defaultService(spec);
      obj.status ??= { loadBalancer: {} };
      break;
    case 'deployments':
      if (spec) {
        setIfAbsent(spec, 'replicas', 1);
        setIfAbsent(spec, 'strategy', { type: 'RollingUpdate' });
        if (spec.strategy.type === undefined) spec.strategy.type = 'RollingUpdate';
        if (spec.strategy.type === 'RollingUpdate') {
          setIfAbsent(spec.strategy, 'rollingUpdate', {});
          setIfAbsent(spec.strategy.rollingUpdate, 'maxUnavailable', '25%');
          setIfAbsent(spec.strategy.rollingUpdate, 'maxSurge', '25%');
        }
        setIfAbsent(spec, 'revisionHistoryLimit', 10);
        setIfAbsent(spec, 'progressDeadlineSeconds', 600);
        defaultTemplate(spec);
      }
      break;
    case 'replicasets':
      if (spec) {
        setIfAbsent(spec, 'replicas', 1);
        defaultTemplate(spec);
      }
      break;
    case 'replicationcontrollers':
      if (spec) {
        setIfAbsent(spec, 'replicas', 1);
        const tplLabels = spec.template?.metadata?.labels;
        if (isPlainObject(tplLabels)) {
          if (!isPlainObject(spec.selector) || Object.keys(spec.selector).length === 0) spec.selector = { ...tplLabels };
          if (!obj.metadata.labels || Object.keys(obj.metadata.labels).length === 0) obj.metadata.labels = { ...tplLabels };
        }
        defaultTemplate(spec);
      }
      break;
    case 'daemonsets':
      if (spec) {
        setIfAbsent(spec, 'updateStrategy', { type: 'RollingUpdate' });
        if (spec.updateStrategy.type === 'RollingUpdate') {
          setIfAbsent(spec.updateStrategy, 'rollingUpdate', {});
          setIfAbsent(spec.updateStrategy.rollingUpdate, 'maxUnavailable', 1);
          setIfAbsent(spec.updateStrategy.rollingUpdate, 'maxSurge', 0);
        }
        setIfAbsent(spec, 'revisionHistoryLimit', 10);
        defaultTemplate(spec);
      }
      break;
    case 'secrets':
      setIfAbsent(obj, 'type', 'Opaque');
      break;
    case 'namespaces':
      obj.spec ??= {};
      setIfAbsent(obj.spec, 'finalizers', ['kubernetes']);
      obj.status ??= {};
      setIfAbsent(obj.status, 'phase', 'Active');
      if (obj.metadata.name) {
        obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
      }
      break;
    case 'ingresses':
      if (spec && Array.isArray(spec.rules)) {
        for (const r of spec.rules) for (const p of r?.http?.paths ?? []) if (isPlainObject(p) && p.pathType === undefined && !p.path) p.pathType = 'ImplementationSpecific';
      }
      break;
    case 'endpointslices':
      for (const e of Array.isArray(obj.endpoints) ? obj.endpoints : []) {
        if (isPlainObject(e)) setIfAbsent(e, 'conditions', {});
      }
      for (const p of Array.isArray(obj.ports) ? obj.ports : []) if (isPlainObject(p)) setIfAbsent(p, 'protocol', 'TCP');
      break;
    case 'endpoints':
      for (const s of Array.isArray(obj.subsets) ? obj.subsets : []) {
        for (const p of Array.isArray(s?.ports) ? s.ports : []) if (isPlainObject(p)) setIfAbsent(p, 'protocol', 'TCP');
      }
      break;
    case 'events':
      // Core events and events.k8s.io events share storage; keep both names of the source.
      setIfAbsent(obj, 'type', 'Normal');
      break;
  }
  return obj as KubeObject;
}

/** Guaranteed / Burstable / BestEffort, from the containers' requests and limits. */
export function qosClass(spec: Obj): string {
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = c?.resources?.requests ?? {};
    const lim = c?.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
