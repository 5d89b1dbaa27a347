/**
 * `kemu chaos` under the namespace driver. Partition is the node's leg on the
 * cluster bridge set down: the node keeps running, with its address and
 * routes, but no frame crosses the bridge either way — as if its cable were
 * pulled at the switch. Other nodes and the control plane simply hear nothing
 * (no reset, no ICMP), which is how a real partition looks to Kubernetes; the
 * node sees its carrier go, as a container does when Docker disconnects it.
 * Pause is SIGSTOP of every process of the target (the kubelet puts only
 * memory-limited containers in cgroups, so there is no freezer to use).
 */
import { createServiceNs, ip, bridgeLeg, bridgeNs, serviceNs } from '../netns.js';
import { KemuError } from '../errors.js';
import type { Cluster } from '../cluster.js';
import type { ChaosDriver, Component } from './driver.js';
import { processesOf, signalAll, startTarget, waitGone } from './processes.js';

export class NamespaceDriver implements ChaosDriver {
  readonly name = 'namespace';

  constructor(private cluster: Cluster) {}

  targets(): { nodes: string[]; services: string[] } {
    const all = this.cluster.compose().services.filter((s) => !s.oneShot && !s.netns);
    const nodes = all.filter((s) => /^node-\d+$/.test(s.name)).map((s) => s.name);
    return { nodes, services: all.map((s) => s.name).filter((n) => !nodes.includes(n)) };
  }

  private check(target: string): void {
    const { nodes, services } = this.targets();
    if (![...nodes, ...services].includes(target))
      throw new KemuError(`no node or service "${target}" in cluster "${this.cluster.project}" (nodes: ${nodes.join(', ')}; services: ${services.join(', ')})`);
  }

  /**
   * A container that stopped has no network: its address goes with it. Here the namespace stays (start brings the
   * target back into it) and its link goes down, so what was on it neither answers nor refuses, as after docker kill.
   */
  private link(target: string, state: 'up' | 'down'): void {
    ip(['-n', serviceNs(this.cluster.project, target), 'link', 'set', 'eth0', state], { allowFail: true });
  }

  async kill(target: string): Promise<void> {
    this.check(target);
    // As docker kill: the keepers leave the target's services down until it is started again.
    for (const svc of this.cluster.servicesOf(target)) this.cluster.killService(svc);
    // Twice: a process forked between the listing and the signal (a kubelet starting a container) goes too.
    for (let i = 0; i < 2; i++) signalAll(processesOf(this.cluster, target), 'SIGKILL');
    this.link(target, 'down');
    await waitGone(processesOf(this.cluster, target), 5000);
  }

  async stop(target: string, graceMs = 10_000): Promise<void> {
    this.check(target);
    const pids = processesOf(this.cluster, target);
    // A paused target would never act on SIGTERM: docker stop of a paused container unpauses it too.
    signalAll(pids, 'SIGCONT');
    // The services through their keepers (stopped, so not restarted), the pods' processes alongside.
    const services = this.cluster.stopServices(this.cluster.servicesOf(target), graceMs);
    signalAll(pids, 'SIGTERM');
    await services;
    const left = await waitGone(pids, graceMs);
    signalAll([...left, ...processesOf(this.cluster, target)], 'SIGKILL');
    this.link(target, 'down');
  }

  async start(target: string): Promise<void> {
    this.check(target);
    // The link down took the routes through it along: the namespace is set up again as `up` sets it up.
    const p = this.cluster.compose();
    const address = p.services.find((s) => s.name === target)?.address;
    if (address) await createServiceNs({ project: this.cluster.project, subnet: p.subnet, gateway: p.gateway }, target, address);
    await startTarget(this.cluster, target);
  }

  pause(target: string): Promise<void> {
    this.check(target);
    signalAll(processesOf(this.cluster, target), 'SIGSTOP');
    return Promise.resolve();
  }

  resume(target: string): Promise<void> {
    this.check(target);
    signalAll(processesOf(this.cluster, target), 'SIGCONT');
    return Promise.resolve();
  }

  partition(target: string): Promise<void> {
    this.check(target);
    ip(['-n', bridgeNs(this.cluster.project), 'link', 'set', bridgeLeg(target), 'down']);
    return Promise.resolve();
  }

  heal(target: string): Promise<void> {
    this.check(target);
    ip(['-n', bridgeNs(this.cluster.project), 'link', 'set', bridgeLeg(target), 'up']);
    return Promise.resolve();
  }

  replicaOf(identity: string, component: Component): string | undefined {
    const pid = Number(identity.split('_').at(-1));
    return this.replicas(component).find((r) => this.cluster.pidOf(r) === pid);
  }

  replicas(component: Component): string[] {
    const names = this.cluster.compose().services.map((s) => s.name);
    return names.filter((n) => n === component || new RegExp(`^${component}-\\d+$`).test(n));
  }
}
