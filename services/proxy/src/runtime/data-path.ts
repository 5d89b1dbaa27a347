/**
 * Which data path a --proxy-mode gets on this node. iptables and nftables are
 * themselves; userspace is the proxy in this process; ipvs is the kernel's IPVS
 * where the kernel has it — except that kemu does not program kernel IPVS (yet),
 * so ipvs mode always serves its scheduler through the userspace data path, and
 * says why. Pure: the kernel probe comes in as a boolean.
 */
import { existsSync } from 'node:fs';
import type { SchedulerName } from '../userspace/schedulers.js';
import type { KernelMode } from './proxiers.js';

export type ProxyModeName = 'iptables' | 'nftables' | 'ipvs' | 'userspace';

export interface DataPath {
  mode: ProxyModeName;
  /** What carries the traffic. */
  dataPath: KernelMode;
  /** The IPVS scheduler, for the userspace data path. */
  scheduler?: SchedulerName;
  /** Why ipvs mode is not on kernel IPVS (logged as a warning, shown by `kemu status`). */
  fallback?: string;
}

export function chooseDataPath(mode: ProxyModeName, scheduler: SchedulerName, kernelHasIpvs: boolean): DataPath {
  if (mode === 'iptables' || mode === 'nftables') return { mode, dataPath: mode };
  if (mode === 'userspace') return { mode, dataPath: 'userspace', scheduler };
  const fallback = kernelHasIpvs
    ? `kemu does not program kernel IPVS yet; serving the ${scheduler} scheduler through the userspace data path`
    : `IPVS not available in this kernel; serving the ${scheduler} scheduler through the userspace data path`;
  return { mode, dataPath: 'userspace', scheduler, fallback };
}

/**
 * Whether this network namespace's kernel has IPVS: /proc/net/ip_vs exists once the
 * ip_vs module is loaded (it is per namespace, so this is the node's view).
 */
export function kernelHasIpvs(exists: (path: string) => boolean = existsSync): boolean {
  return exists('/proc/net/ip_vs');
}

/** One line for /proxyMode's header and the log: "userspace", "userspace; scheduler=rr". */
export function describeDataPath(d: DataPath): string {
  return d.scheduler ? `${d.dataPath}; scheduler=${d.scheduler}` : d.dataPath;
}
