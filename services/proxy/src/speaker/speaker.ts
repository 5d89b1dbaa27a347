/**
 * The ARP speaker of one node (MetalLB's layer-2 speaker): given the elections of
 * every LoadBalancer address, it makes this node's uplink hold exactly the addresses
 * the node won — adding one announces it (gratuitous ARP), removing one withdraws
 * it — and says so in its log, in a `nodeAssigned` event on the Service and in the
 * `metallb_speaker_announced` gauge, as MetalLB does.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '@kemu/api';
import { prom, type MetricsRegistry } from '@kemu/client';
import { announcedBy, type AddressElection } from './announce.js';
import type { InterfaceAddresses } from './addresses.js';

export interface SpeakerOptions {
  nodeName: string;
  /** The node's address on the node network: the interface holding it is where addresses go. */
  nodeIP: () => string | undefined;
  addresses: InterfaceAddresses;
  /** Where `nodeAssigned` events go (best effort). */
  recorder?: { event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> };
  registry?: MetricsRegistry;
}

export class Speaker {
  /** What this node announces, address → Services, as last written to the kernel. */
  private mine = new Map<string, string[]>();
  private dev: string | undefined;
  /** Whether the interface has been read since this process started. */
  private readOnce = false;
  private readonly announced: prom.Gauge<'ip' | 'node' | 'protocol' | 'service'>;

  constructor(
    private o: SpeakerOptions,
    private log: Logger,
  ) {
    this.announced = new prom.Gauge({
      name: 'metallb_speaker_announced',
      help: 'Addresses this node announces (1), by Service (MetalLB layer 2)',
      labelNames: ['ip', 'node', 'protocol', 'service'],
      registers: o.registry ? [o.registry] : [],
    });
  }

  /** The addresses this node holds now, address → Services. */
  get holding(): ReadonlyMap<string, readonly string[]> {
    return this.mine;
  }

  /**
   * Make the uplink hold what this node won. `verify` reads the kernel even when the
   * outcome did not change (periodic resync: an address removed by hand comes back).
   * `service` finds a Service by "namespace/name" for its event.
   */
  async reconcile(elections: readonly AddressElection[], verify: boolean, service: (key: string) => KubeObject | undefined): Promise<void> {
    const want = new Map(announcedBy(this.o.nodeName, elections).map((e) => [e.ip, e.services]));
    // Elections come sorted by address, so equal outcomes serialize equally. The first run always reads the kernel:
    // a node killed while it announced comes back with the addresses still on its interface, and winning nothing now
    // is no change to an empty memory, so they would stay (two nodes answering ARP) until the next periodic check.
    if (!verify && this.readOnce && JSON.stringify([...want]) === JSON.stringify([...this.mine])) return;
    const dev = await this.uplink();
    if (!dev) return;
    const have = new Set(await this.o.addresses.list(dev));
    this.readOnce = true;
    for (const ip of have) {
      if (want.has(ip)) continue;
      await this.o.addresses.remove(dev, ip);
      const now = elections.find((e) => e.ip === ip);
      this.log.info({ ip, node: this.o.nodeName, services: now?.services ?? [], nowAnnouncedBy: now?.node ?? null }, 'withdrew LoadBalancer address');
    }
    const takeovers: Promise<void>[] = [];
    for (const [ip, services] of want) {
      if (!have.has(ip)) await this.o.addresses.add(dev, ip);
      // New to this process, even if a previous run left it on the interface: the neighbours may have
      // moved to another node meanwhile, so a takeover is always told.
      const before = this.mine.get(ip);
      if (!before) {
        takeovers.push(this.garp(dev, ip));
        this.log.info({ ip, node: this.o.nodeName, interface: dev, services }, 'announcing LoadBalancer address');
      }
      for (const key of services.filter((s) => !before?.includes(s))) {
        const obj = service(key);
        if (obj) void this.o.recorder?.event(obj, 'Normal', 'nodeAssigned', `announcing from node "${this.o.nodeName}" with protocol "layer2"`);
      }
    }
    await Promise.all(takeovers);
    this.mine = want;
    this.announced.reset();
    for (const [ip, services] of want) for (const service of services) this.announced.set({ ip, node: this.o.nodeName, protocol: 'layer2', service }, 1);
  }

  /** Give up every address (a speaker that stops answers for nothing, as a stopped MetalLB speaker). */
  async withdrawAll(): Promise<void> {
    const dev = await this.uplink();
    if (!dev) return;
    for (const ip of await this.o.addresses.list(dev)) {
      await this.o.addresses.remove(dev, ip);
      this.log.info({ ip, node: this.o.nodeName }, 'withdrew LoadBalancer address');
    }
    this.mine.clear();
    this.announced.reset();
  }

  private async uplink(): Promise<string | undefined> {
    if (this.dev) return this.dev;
    const ip = this.o.nodeIP();
    if (!ip) return undefined;
    this.dev = await this.o.addresses.uplink(ip);
    if (!this.dev) this.log.warn({ nodeIP: ip }, 'no interface holds the node address: LoadBalancer addresses cannot be announced');
    return this.dev;
  }

  /** A lost gratuitous ARP only delays clients until their cache entry expires: logged, not fatal. */
  private async garp(dev: string, ip: string): Promise<void> {
    try {
      await this.o.addresses.announce(dev, ip);
    } catch (err) {
      this.log.warn(
        { err, ip, interface: dev },
        'gratuitous ARP failed (is iputils-arping installed?); neighbours learn the move when their ARP entries expire',
      );
    }
  }
}
