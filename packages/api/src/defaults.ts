/**
 * Defaulting, as Kubernetes' SetDefaults_* and the default admission plugins
 * do it, applied to the storage form before validation. Pure: takes an
 * object, returns a defaulted copy.
 */
import type { ResourceInfo } from './registry.js';
import { isPlainObject, type KubeObject } from './types.js';
import { asArray, asObject, at, objectField, objectsOf, jsonText, type JsonObject } from './json.js';

function setIfAbsent(o: JsonObject, k: string, v: unknown): void {
  if (o[k] === undefined || o[k] === null) o[k] = v;
}

/** Give `o[k]` its defaults when it is an object. */
function defaultsIn(o: JsonObject, k: string, defaults: JsonObject): void {
  const inner = asObject(o[k]);
  if (inner) for (const [dk, dv] of Object.entries(defaults)) setIfAbsent(inner, dk, dv);
}

/** `nginx` and `nginx:latest` are pulled Always; a tag or digest means IfNotPresent. */
export function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.split('/').pop() ?? image;
  const tag = last.includes(':') ? last.split(':').pop() : undefined;
  return !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(c: unknown): void {
  if (!isPlainObject(c)) return;
  if (typeof c.image === 'string') setIfAbsent(c, 'imagePullPolicy', defaultPullPolicy(c.image));
  setIfAbsent(c, 'terminationMessagePath', '/dev/termination-log');
  setIfAbsent(c, 'terminationMessagePolicy', 'File');
  setIfAbsent(c, 'resources', {});
  for (const p of objectsOf(c.ports)) setIfAbsent(p, 'protocol', 'TCP');
  // Requests default to limits when only limits are given.
  const r = asObject(c.resources);
  const limits = asObject(r?.limits);
  if (r && limits) {
    const req = asObject(r.requests) ?? {};
    for (const [k, v] of Object.entries(limits)) if (req[k] === undefined) req[k] = v;
    r.requests = req;
  }
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const p = asObject(c[probe]);
    if (!p) continue;
    setIfAbsent(p, 'timeoutSeconds', 1);
    setIfAbsent(p, 'periodSeconds', 10);
    setIfAbsent(p, 'successThreshold', 1);
    setIfAbsent(p, 'failureThreshold', 3);
    defaultsIn(p, 'httpGet', { path: '/', scheme: 'HTTP' });
  }
}

/** PodSpec defaults (pods and pod templates); anything not an object is left for validation. */
export function defaultPodSpec(spec: unknown): void {
  if (!isPlainObject(spec)) return;
  setIfAbsent(spec, 'restartPolicy', 'Always');
  setIfAbsent(spec, 'terminationGracePeriodSeconds', 30);
  setIfAbsent(spec, 'dnsPolicy', 'ClusterFirst');
  setIfAbsent(spec, 'securityContext', {});
  setIfAbsent(spec, 'schedulerName', 'default-scheduler');
  setIfAbsent(spec, 'enableServiceLinks', true);
  if (spec.serviceAccount && !spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount;
  for (const key of ['containers', 'initContainers']) for (const c of asArray(spec[key])) defaultContainer(c);
  for (const v of objectsOf(spec.volumes)) {
    for (const source of ['secret', 'configMap', 'downwardAPI', 'projected']) defaultsIn(v, source, { defaultMode: 420 });
    defaultsIn(v, 'hostPath', { type: '' });
  }
}

function defaultTemplate(spec: JsonObject): void {
  if (isPlainObject(spec.template)) {
    const meta = objectField(spec.template, 'metadata');
    if (meta) setIfAbsent(meta, 'creationTimestamp', null);
    defaultPodSpec(spec.template.spec);
  }
}

function defaultService(spec: JsonObject): void {
  setIfAbsent(spec, 'type', 'ClusterIP');
  setIfAbsent(spec, 'sessionAffinity', 'None');
  if (spec.type !== 'ExternalName') {
    setIfAbsent(spec, 'ipFamilies', ['IPv4']);
    setIfAbsent(spec, 'ipFamilyPolicy', 'SingleStack');
    setIfAbsent(spec, 'internalTrafficPolicy', 'Cluster');
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setIfAbsent(spec, 'externalTrafficPolicy', 'Cluster');
  if (spec.type === 'LoadBalancer') setIfAbsent(spec, 'allocateLoadBalancerNodePorts', true);
  for (const p of objectsOf(spec.ports)) {
    setIfAbsent(p, 'protocol', 'TCP');
    // A headless service without selector keeps targetPort unset in Kubernetes too; others default to port.
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
}

/** The pod defaults beyond its PodSpec's: status, priority, service account, the default tolerations. */
function defaultPod(spec: JsonObject | undefined, status: JsonObject | undefined): void {
  if (status) setIfAbsent(status, 'phase', 'Pending');
  if (!spec) return;
  defaultPodSpec(spec);
  // On the host's network a container port is the node's: hostPort defaults to it (in pods only, since 1.28).
  if (spec.hostNetwork === true)
    for (const key of ['containers', 'initContainers'])
      for (const c of objectsOf(spec[key])) for (const p of objectsOf(c.ports)) if (!p.hostPort) p.hostPort = p.containerPort;
  setIfAbsent(spec, 'priority', 0);
  setIfAbsent(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  // serviceAccountName is not a default: the api-server's ServiceAccount admission names `default`, for every pod
  // but a kubelet's mirror pod (which keeps none, as in Kubernetes).
  if (spec.serviceAccountName !== undefined) setIfAbsent(spec, 'serviceAccount', spec.serviceAccountName);
  spec.tolerations ??= [];
  if (status) setIfAbsent(status, 'qosClass', qosClass(spec));
}

/** Seconds the DefaultTolerationSeconds admission plugin gives a pod on a not-ready / unreachable node (its flags' defaults: 300). */
export interface DefaultTolerationSeconds {
  notReady: number;
  unreachable: number;
}

/**
 * The DefaultTolerationSeconds admission plugin: a pod that does not tolerate the not-ready or unreachable
 * NoExecute taint gets a toleration for `seconds` of it, so it is evicted that long after its node went away.
 * An api-server plugin, not defaulting: its seconds are the api-server's flags. Mutates `pod`.
 */
export function addDefaultTolerations(pod: KubeObject, seconds: DefaultTolerationSeconds): void {
  const spec = objectField(pod, 'spec');
  if (!spec) return;
  spec.tolerations ??= [];
  const tolerations = spec.tolerations;
  if (!Array.isArray(tolerations)) return;
  for (const [key, s] of [
    ['node.kubernetes.io/not-ready', seconds.notReady],
    ['node.kubernetes.io/unreachable', seconds.unreachable],
  ] as const) {
    const tolerated = objectsOf(tolerations).some((t) => t.key === key || (t.operator === 'Exists' && !t.key));
    if (!tolerated) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: s });
  }
}

/** A RollingUpdate strategy's parameters get their defaults; other strategies have none. */
function defaultRollingUpdate(strategy: JsonObject | undefined, defaults: JsonObject): void {
  if (strategy?.type !== 'RollingUpdate') return;
  const ru = objectField(strategy, 'rollingUpdate');
  if (ru) for (const [k, v] of Object.entries(defaults)) setIfAbsent(ru, k, v);
}

/** Apply the defaults for the resource's storage form. */
export function applyDefaults(info: ResourceInfo, input: KubeObject): KubeObject {
  const obj: JsonObject = structuredClone(input);
  const meta = objectField(obj, 'metadata');
  const spec = asObject(obj.spec);
  switch (info.storage) {
    case 'pods':
      defaultPod(spec, objectField(obj, 'status'));
      break;
    case 'services':
      if (spec) defaultService(spec);
      obj.status ??= { loadBalancer: {} };
      break;
    case 'deployments':
      if (spec) {
        setIfAbsent(spec, 'replicas', 1);
        setIfAbsent(spec, 'strategy', { type: 'RollingUpdate' });
        const strategy = asObject(spec.strategy);
        if (strategy && strategy.type === undefined) strategy.type = 'RollingUpdate';
        defaultRollingUpdate(strategy, { maxUnavailable: '25%', maxSurge: '25%' });
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
        const tplLabels = at(spec, 'template', 'metadata', 'labels');
        if (isPlainObject(tplLabels)) {
          if (!isPlainObject(spec.selector) || Object.keys(spec.selector).length === 0) spec.selector = { ...tplLabels };
          const labels = asObject(meta?.labels);
          if (meta && (!labels || Object.keys(labels).length === 0)) meta.labels = { ...tplLabels };
        }
        defaultTemplate(spec);
      }
      break;
    case 'daemonsets':
      if (spec) {
        setIfAbsent(spec, 'updateStrategy', { type: 'RollingUpdate' });
        defaultRollingUpdate(asObject(spec.updateStrategy), { maxUnavailable: 1, maxSurge: 0 });
        setIfAbsent(spec, 'revisionHistoryLimit', 10);
        defaultTemplate(spec);
      }
      break;
    case 'secrets':
      setIfAbsent(obj, 'type', 'Opaque');
      break;
    case 'namespaces': {
      obj.spec ??= {};
      defaultsIn(obj, 'spec', { finalizers: ['kubernetes'] });
      obj.status ??= {};
      defaultsIn(obj, 'status', { phase: 'Active' });
      const name = meta?.name;
      if (meta && name) meta.labels = { ...(asObject(meta.labels) ?? {}), 'kubernetes.io/metadata.name': name };
      break;
    }
    case 'ingresses':
      for (const r of objectsOf(spec?.rules)) {
        for (const p of objectsOf(at(r, 'http', 'paths'))) if (p.pathType === undefined && !p.path) p.pathType = 'ImplementationSpecific';
      }
      break;
    case 'networkpolicies':
      if (spec) defaultNetworkPolicySpec(spec);
      break;
    case 'endpointslices':
      for (const e of objectsOf(obj.endpoints)) setIfAbsent(e, 'conditions', {});
      for (const p of objectsOf(obj.ports)) setIfAbsent(p, 'protocol', 'TCP');
      break;
    case 'endpoints':
      for (const s of objectsOf(obj.subsets)) for (const p of objectsOf(s.ports)) setIfAbsent(p, 'protocol', 'TCP');
      break;
    case 'events':
      // Core events and events.k8s.io events share storage; keep both names of the source.
      setIfAbsent(obj, 'type', 'Normal');
      break;
  }
  // Defaulting only adds fields, and metadata is an object now: still a KubeObject.
  return obj as KubeObject;
}

/**
 * SetDefaults_NetworkPolicy: a policy without policyTypes isolates ingress, and egress too when it has egress rules;
 * a port without protocol is TCP. podSelector is a struct in Go, so it always reads back (`{}` selects every pod).
 */
function defaultNetworkPolicySpec(spec: JsonObject): void {
  setIfAbsent(spec, 'podSelector', {});
  const types = asArray(spec.policyTypes);
  if (!types || types.length === 0) spec.policyTypes = (asArray(spec.egress) ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  for (const dir of ['ingress', 'egress']) for (const r of objectsOf(spec[dir])) for (const p of objectsOf(r.ports)) setIfAbsent(p, 'protocol', 'TCP');
}

/** Guaranteed / Burstable / BestEffort, from the containers' requests and limits. */
export function qosClass(spec: unknown): string {
  const containers = [...objectsOf(at(spec, 'containers')), ...objectsOf(at(spec, 'initContainers'))];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const req = asObject(at(c, 'resources', 'requests')) ?? {};
    const lim = asObject(at(c, 'resources', 'limits')) ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined || (req[r] !== undefined && jsonText(req[r]) !== jsonText(lim[r]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
