/**
 * ClusterIP and NodePort allocation. The api-server holds the allocation
 * state in memory, rebuilt from the Services at start; allocating is
 * synchronous (check and reserve in one step of the event loop), so two
 * concurrent creates can never get the same address or port.
 */
import { cidrSize, formatIPv4, invalid, isIPv4, parseCidr, parseIPv4, type FieldError } from '@kemu/api';

export class AllocationError extends Error {
  constructor(readonly fieldError: FieldError) {
    super(fieldError.detail);
  }
}

/** A pool of integers [base, base+size) with some kept out of random allocation. */
class Pool {
  private used = new Set<number>();
  constructor(
    readonly base: number,
    readonly size: number,
    private reservedForRequest: Set<number>,
    private random: () => number,
  ) {}
  has(n: number): boolean {
    return n >= this.base && n < this.base + this.size;
  }
  isUsed(n: number): boolean {
    return this.used.has(n);
  }
  take(n: number): boolean {
    if (!this.has(n) || this.used.has(n)) return false;
    this.used.add(n);
    return true;
  }
  next(): number | undefined {
    const start = Math.floor(this.random() * this.size);
    for (let i = 0; i < this.size; i++) {
      const n = this.base + ((start + i) % this.size);
      if (!this.used.has(n) && !this.reservedForRequest.has(n)) {
        this.used.add(n);
        return n;
      }
    }
    return undefined;
  }
  release(n: number): void {
    this.used.delete(n);
  }
  get free(): number {
    return this.size - this.used.size;
  }
}

export interface AllocatorOptions {
  serviceCidr: string;
  nodePortRange: [number, number];
  /** Addresses given only when asked for by name (10.96.0.1 kubernetes, 10.96.0.10 DNS). */
  reservedIPs: string[];
  random?: () => number;
}

export class ServiceAllocator {
  private ips: Pool;
  private ports: Pool;
  readonly cidr: string;
  constructor(opts: AllocatorOptions) {
    const cidr = parseCidr(opts.serviceCidr);
    const random = opts.random ?? Math.random;
    this.cidr = opts.serviceCidr;
    // The network and broadcast addresses are never handed out.
    this.ips = new Pool(cidr.network + 1, cidrSize(cidr) - 2, new Set(opts.reservedIPs.map(parseIPv4)), random);
    const [lo, hi] = opts.nodePortRange;
    this.ports = new Pool(lo, hi - lo + 1, new Set(), random);
  }

  /**
   * Take a specific ClusterIP (from a request or a stored Service). The bad value of a refusal is the Service's
   * clusterIPs list, as Kubernetes reports it (`Invalid value: []string{"10.0.0.1"}`).
   */
  takeIP(ip: string, field = 'spec.clusterIPs'): void {
    if (!isIPv4(ip) || !this.ips.has(parseIPv4(ip))) {
      throw new AllocationError(
        invalid(field, [ip], `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr}`),
      );
    }
    if (!this.ips.take(parseIPv4(ip))) throw new AllocationError(invalid(field, [ip], `failed to allocate IP ${ip}: provided IP is already allocated`));
  }

  allocateIP(): string {
    const n = this.ips.next();
    if (n === undefined) throw new AllocationError(invalid('spec.clusterIPs', '', 'failed to allocate a serviceIP: range is full'));
    return formatIPv4(n);
  }

  releaseIP(ip: string | undefined): void {
    if (isIPv4(ip)) this.ips.release(parseIPv4(ip));
  }

  takePort(port: number, field: string): void {
    if (!this.ports.has(port)) {
      throw new AllocationError(
        invalid(
          field,
          port,
          `provided port is not in the valid range. The range of valid ports is ${this.ports.base}-${this.ports.base + this.ports.size - 1}`,
        ),
      );
    }
    if (!this.ports.take(port)) throw new AllocationError(invalid(field, port, 'provided port is already allocated'));
  }

  allocatePort(field: string): number {
    const n = this.ports.next();
    if (n === undefined) throw new AllocationError(invalid(field, 0, 'failed to allocate a nodePort: range is full'));
    return n;
  }

  releasePort(port: number | undefined): void {
    if (port) this.ports.release(port);
  }

  isIPUsed(ip: string): boolean {
    return isIPv4(ip) && this.ips.isUsed(parseIPv4(ip));
  }

  stats(): { freeIPs: number; freePorts: number } {
    return { freeIPs: this.ips.free, freePorts: this.ports.free };
  }
}
