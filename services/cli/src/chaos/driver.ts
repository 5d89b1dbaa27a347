/**
 * The verbs of `kemu chaos`, as one interface every driver implements: the
 * namespace driver (processes in network namespaces) here, a Docker driver
 * (docker kill/stop/start/pause/unpause, network disconnect/connect) later.
 * A target is a compose service: a node (node-2), or a control-plane service
 * (apiserver, etcd, a replica such as scheduler-2). Each verb does what its
 * Docker namesake does to a container.
 */

/** The control-plane components `restart` (and the node verbs) take by name; scheduler and controller-manager mean their leader. */
export const COMPONENTS = ['apiserver', 'etcd', 'scheduler', 'controller-manager'] as const;
export type Component = (typeof COMPONENTS)[number];

export function isComponent(s: string): s is Component {
  return (COMPONENTS as readonly string[]).includes(s);
}

/** The Lease each elected component leads through (kube-system), as in Kubernetes. */
export const LEADER_LEASES: Partial<Record<Component, string>> = {
  scheduler: 'kube-scheduler',
  'controller-manager': 'kube-controller-manager',
};

export interface ChaosDriver {
  readonly name: string;
  /** The nodes (node-1..N) and the other services. */
  targets(): { nodes: string[]; services: string[] };
  /** Every process of the target, pods included, SIGKILL at once; it stays down (docker kill). */
  kill(target: string): Promise<void>;
  /** SIGTERM to every process, SIGKILL after `graceMs` (docker stop, 10 s). */
  stop(target: string, graceMs?: number): Promise<void>;
  /** Start a killed or stopped target again and wait for its healthcheck (docker start). */
  start(target: string): Promise<void>;
  /** Freeze every process (docker pause). */
  pause(target: string): Promise<void>;
  resume(target: string): Promise<void>;
  /** Cut the target off the cluster network while it keeps running (docker network disconnect). */
  partition(target: string): Promise<void>;
  heal(target: string): Promise<void>;
  /** The replica (service name) whose processes hold a leader election identity (`host_pid` under this driver). */
  replicaOf(identity: string, component: Component): string | undefined;
  /** The replicas of a component (scheduler: scheduler, scheduler-2). */
  replicas(component: Component): string[];
}
