/** @kemu/kubelet — the node agent. */
export { start, type KubeletOptions } from './server.js';
export { nodeObject, conditions, KUBELET_VERSION, type NodeFacts } from './node-status.js';
