/**
 * The userspace data path as a Proxier: on each sync it makes sure every TCP/UDP
 * Service port has a listener in this process, hands each listener's
 * VirtualService the current endpoints, and rewrites the portal chains (one
 * iptables-restore) so the Service's addresses lead to those listeners. Listeners
 * of Service ports that went away are closed after the rules stop pointing at them.
 */
import { planService } from '../model/plan.js';
import { servicePortKey, type NodeFacts, type ServiceEntry } from '../model/types.js';
import { PORTAL_JUMPS, buildPortalRules, type Portal } from '../userspace/portals.js';
import type { SchedulerName } from '../userspace/schedulers.js';
import { NO_COUNTERS, TcpProxy, type DataPathCounters } from '../userspace/tcp-proxy.js';
import { DEFAULT_UDP_IDLE_TIMEOUT_MS, UdpProxy } from '../userspace/udp-proxy.js';
import { VirtualService } from '../userspace/virtual-service.js';
import { run, type Exec } from './exec.js';
import { countRules, hasJump, parseIptablesSave } from './kernel.js';
import type { Proxier, SyncOutcome } from './proxiers.js';

const WAIT = ['-w', '5'];

export interface UserspaceProxierOptions {
  scheduler: SchedulerName;
  /** Idle timeout of a UDP client's session (--udp-timeout). Default 250 ms. */
  udpIdleTimeoutMs?: number;
  /** Where the listeners bind. Default 0.0.0.0 (REDIRECT needs every local address). */
  listenHost?: string;
  counters?: DataPathCounters;
  now?: () => number;
}

interface Listener {
  vs: VirtualService;
  proxy: TcpProxy | UdpProxy;
  port: number;
}

export class UserspaceProxier implements Proxier {
  readonly mode = 'userspace';
  private readonly listeners = new Map<string, Listener>();
  private needFull = true;

  constructor(
    private readonly exec: Exec,
    private readonly options: UserspaceProxierOptions,
  ) {}

  /** The listener port of a Service port ("ns/name:port/TCP"), for tests and diagnostics. */
  proxyPort(key: string): number | undefined {
    return this.listeners.get(key)?.port;
  }

  async sync(entries: readonly ServiceEntry[], node: NodeFacts, forceFull: boolean): Promise<SyncOutcome> {
    const full = forceFull || this.needFull;
    this.needFull = true;
    const portals: Portal[] = [];
    const wanted = new Set<string>();
    for (const e of entries) {
      const s = e.service;
      if (s.protocol === 'SCTP') continue; // Node has no SCTP sockets; the historic proxier had none either
      const key = servicePortKey(s.namespace, s.name, s.portName, s.protocol);
      const plan = planService(e, node.nodeName);
      // One listener serves every portal of the port: internal and external traffic use the same
      // endpoints here (externalTrafficPolicy Local cannot keep the source IP through a proxy anyway).
      const endpoints = plan.internalPolicyLocal ? plan.endpoints.local : plan.endpoints.cluster;
      const l = await this.listener(key, s.protocol, s.clusterIP, s.affinityTimeoutSeconds);
      l.vs.update(endpoints, s.clusterIP, s.affinityTimeoutSeconds);
      wanted.add(key);
      portals.push({ service: s, proxyPort: l.port, hasEndpoints: endpoints.length > 0 });
    }
    const text = buildPortalRules(portals, node.nodeIP);
    await run(this.exec, 'iptables-restore', [...WAIT, '--noflush'], text);
    if (full) await this.ensureJumps();
    const stale = [...this.listeners].filter(([key]) => !wanted.has(key));
    for (const [key, l] of stale) {
      this.listeners.delete(key);
      await l.proxy.close();
    }
    this.needFull = false;
    return { full, ruleCounts: countRules(text), deletedChains: 0 };
  }

  /** Close every listener (the process stops; the rules stay, as in the other modes). */
  async stop(): Promise<void> {
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map((l) => l.proxy.close()));
  }

  private async listener(key: string, protocol: 'TCP' | 'UDP', destIP: string, affinity: number | undefined): Promise<Listener> {
    const have = this.listeners.get(key);
    if (have) return have;
    const o = this.options;
    const vs = new VirtualService(o.scheduler, destIP, affinity, o.now);
    const counters = o.counters ?? NO_COUNTERS;
    const proxy = protocol === 'TCP' ? new TcpProxy(vs, counters) : new UdpProxy(vs, counters, o.udpIdleTimeoutMs ?? DEFAULT_UDP_IDLE_TIMEOUT_MS, o.now);
    const port = await proxy.listen(0, o.listenHost ?? '0.0.0.0');
    const l = { vs, proxy, port };
    this.listeners.set(key, l);
    return l;
  }

  /**
   * The jumps from the built-in chains, added when missing: the portal jumps first in
   * their chain, the NodePort ones last (they match any local address, so every portal
   * must be tried before them). Run after the restore, which creates the chains.
   */
  private async ensureJumps(): Promise<void> {
    const saved = parseIptablesSave(await run(this.exec, 'iptables-save', []));
    for (const j of PORTAL_JUMPS) {
      if (hasJump(saved, j.table, j.chain, j.target)) continue;
      const where = j.position === 'first' ? ['-I', j.chain, '1'] : ['-A', j.chain];
      await run(this.exec, 'iptables', [...WAIT, '-t', j.table, ...where, ...j.args, '-j', j.target]);
    }
  }
}
