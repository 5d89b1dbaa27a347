/**
 * @kemu/kubelet — the node agent.
 *
 * Glossary (the CRI's words, used the same way throughout the kubelet):
 * - pod sandbox (`PodSandbox`, pod-sandbox.ts): what a pod has before any
 *   container runs — its network namespace, address, directory (resolver
 *   files, volumes, logs) — and the containers the kubelet runs in it.
 * - container (`Container`, pod-sandbox.ts): one entry of the pod's
 *   spec.containers or spec.initContainers as the kubelet runs it: its
 *   state for the pod's status, environment, log, probes, back-off. Each
 *   start is a new runtime container with a new container ID (`id`).
 *   The API's description of it is its spec (`ContainerSpec`, the
 *   `Container` of kubernetes-types).
 * - runtime handle (`ContainerHandle`, runtime/container.ts): what the
 *   runtime returns for a started container — signal it, learn how it
 *   ended, feed its stdin, find its program's pid. `SavedHandle` is the
 *   part written to disk so a restarted kubelet adopts the container.
 *   `ContainerConfig` is what a container is started with.
 */
export { start, type KubeletOptions } from './server.js';
export { nodeObject, conditions, KUBELET_VERSION, type NodeFacts } from './node-status.js';
