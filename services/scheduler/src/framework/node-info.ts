/** What the scheduler knows of a node: the Node, the pods on it and what they request. */
import { milliValue, quantityValue } from '@kemu/api';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';

/**
 * Integers, as kube-scheduler's framework.Resource has them: CPU in
 * millicores (Quantity.MilliValue), memory in bytes (Quantity.Value), both
 * rounded up. Sums of integers below 2^53 are exact, so no epsilon is needed
 * when comparing them with what a node can allocate.
 */
export interface Resources {
  cpu: number; // millicores
  memory: number; // bytes
  pods: number;
}

const milliCPU = (q: unknown): number => Number(milliValue(q) ?? 0n);
const units = (q: unknown): number => Number(quantityValue(q) ?? 0n); // bytes for memory, a count for pods

export interface NodeInfo {
  node: Node;
  pods: Map<string, Pod>;
  requested: Resources;
  /** hostIP/protocol/port in use. */
  ports: Set<string>;
  /** Parsed once per Node update: the scheduler reads them for every pod. */
  allocatable: Resources;
}

/** A pod's requests: containers summed, init containers as their maximum (Kubernetes' rule). */
export function podRequests(pod: Pod): Resources {
  const sum = { cpu: 0, memory: 0, pods: 1 };
  for (const c of pod.spec?.containers ?? []) {
    sum.cpu += milliCPU(c.resources?.requests?.cpu);
    sum.memory += units(c.resources?.requests?.memory);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    sum.cpu = Math.max(sum.cpu, milliCPU(c.resources?.requests?.cpu));
    sum.memory = Math.max(sum.memory, units(c.resources?.requests?.memory));
  }
  return sum;
}

export function podHostPorts(pod: Pod): string[] {
  const out: string[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${p.hostIP || '0.0.0.0'}/${p.protocol ?? 'TCP'}/${p.hostPort}`);
  }
  return out;
}

export function allocatable(node: Node): Resources {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  return { cpu: milliCPU(a.cpu), memory: units(a.memory), pods: Number(quantityValue(a.pods) ?? 110n) };
}

export function newNodeInfo(node: Node): NodeInfo {
  return { node, pods: new Map(), requested: { cpu: 0, memory: 0, pods: 0 }, ports: new Set(), allocatable: allocatable(node) };
}

/** The Node object changed. */
export function setNode(info: NodeInfo, node: Node): void {
  info.node = node;
  info.allocatable = allocatable(node);
}

/** Requests are read for every node a pod is tried on: compute them once per pod. */
const requestCache = new WeakMap<Pod, Resources>();
export function cachedRequests(pod: Pod): Resources {
  let r = requestCache.get(pod);
  if (!r) requestCache.set(pod, (r = podRequests(pod)));
  return r;
}

export function addPod(info: NodeInfo, key: string, pod: Pod): void {
  if (info.pods.has(key)) removePod(info, key);
  info.pods.set(key, pod);
  const r = cachedRequests(pod);
  info.requested.cpu += r.cpu;
  info.requested.memory += r.memory;
  info.requested.pods += 1;
  for (const p of podHostPorts(pod)) info.ports.add(p);
}

export function removePod(info: NodeInfo, key: string): void {
  const pod = info.pods.get(key);
  if (!pod) return;
  info.pods.delete(key);
  const r = cachedRequests(pod);
  info.requested.cpu -= r.cpu;
  info.requested.memory -= r.memory;
  info.requested.pods -= 1;
  for (const p of podHostPorts(pod)) info.ports.delete(p);
}
