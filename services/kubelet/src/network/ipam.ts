/**
 * Host-local IP address management for a node's podCIDR (like the CNI
 * host-local plugin): .1 is the bridge's gateway, pods get the lowest free
 * address, and allocations are written to a file so a restarted kubelet
 * keeps them.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cidrSize, formatIPv4, nthAddress } from '@kemu/api';

/** The gateway (first usable) address of a CIDR. */
export function gatewayOf(cidr: string): string {
  return formatIPv4(nthAddress(cidr, 1));
}

/** The lowest free pod address in `cidr` (skipping network, gateway, broadcast), or undefined when full. Pure. */
export function nextFree(cidr: string, used: Set<string>): string | undefined {
  for (let n = 2; n < cidrSize(cidr) - 1; n++) {
    const candidate = formatIPv4(nthAddress(cidr, n));
    if (!used.has(candidate)) return candidate;
  }
  return undefined;
}

export class HostLocalIpam {
  private byOwner = new Map<string, string>();

  constructor(
    readonly cidr: string,
    private file?: string,
  ) {
    if (file && existsSync(file)) {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { cidr: string; allocations: Record<string, string> };
      if (saved.cidr === cidr) this.byOwner = new Map(Object.entries(saved.allocations));
    }
  }

  get gateway(): string {
    return gatewayOf(this.cidr);
  }

  /** The address of `owner` (a pod uid), allocating one the first time. */
  allocate(owner: string): string {
    const have = this.byOwner.get(owner);
    if (have) return have;
    const ip = nextFree(this.cidr, new Set(this.byOwner.values()));
    if (!ip) throw new Error(`no free address in ${this.cidr}`);
    this.byOwner.set(owner, ip);
    this.save();
    return ip;
  }

  release(owner: string): void {
    if (this.byOwner.delete(owner)) this.save();
  }

  allocations(): Map<string, string> {
    return new Map(this.byOwner);
  }

  private save(): void {
    if (!this.file) return;
    // Write then rename: a crash never leaves a half-written file.
    writeFileSync(`${this.file}.tmp`, JSON.stringify({ cidr: this.cidr, allocations: Object.fromEntries(this.byOwner) }));
    renameSync(`${this.file}.tmp`, this.file);
  }
}
