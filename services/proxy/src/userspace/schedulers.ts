/**
 * The IPVS schedulers as deterministic choice functions, for the userspace data
 * path (userspace mode, and ipvs mode where the kernel has no ip_vs). Each follows
 * the kernel's net/netfilter/ipvs/ip_vs_<name>.c: which backends count as
 * available (weight > 0), how connection counts are weighed, how ties break (the
 * first in list order), and how dh/sh hash addresses into a 256-bucket table.
 * A scheduler holds only its cursor (rr, wrr); no clock, no randomness.
 */
import { ipv4ToNumber } from '../model/from-k8s.js';

export type SchedulerName = 'rr' | 'wrr' | 'lc' | 'wlc' | 'sed' | 'nq' | 'dh' | 'sh';
export const SCHEDULER_NAMES: readonly SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'dh', 'sh'];

/** A real server of one virtual service, with the counters IPVS keeps for it. */
export interface Backend {
  /** "ip:port". */
  id: string;
  ip: string;
  weight: number;
  /** Established connections. */
  activeConns: number;
  /** Connections in other states (TIME_WAIT, FIN_WAIT, ...). */
  inactiveConns: number;
}

/** The connection being scheduled. */
export interface Connection {
  clientIP: string;
  /** The address the client dialled (ClusterIP, node IP, LB IP): what dh hashes. */
  destIP: string;
}

export interface Scheduler {
  readonly name: SchedulerName;
  /** The backend for this connection, or undefined when none is available (IPVS drops it). */
  pick(backends: readonly Backend[], conn: Connection): Backend | undefined;
}

const available = (b: Backend): boolean => b.weight > 0;

/** ip_vs_dest_conn_overhead: an active connection costs 256 times an inactive one. */
const connOverhead = (b: Backend): number => b.activeConns * 256 + b.inactiveConns;

/** Round robin over available backends, resuming after the last one chosen. */
class RoundRobin implements Scheduler {
  readonly name = 'rr';
  private lastId: string | undefined;
  private lastIndex = -1;
  pick(backends: readonly Backend[]): Backend | undefined {
    const n = backends.length;
    let start = -1;
    if (this.lastId !== undefined) {
      const at = backends.findIndex((b) => b.id === this.lastId);
      // The last choice was removed: IPVS moves the cursor to the entry before it.
      start = at >= 0 ? at : Math.min(this.lastIndex - 1, n - 1);
    }
    for (let k = 1; k <= n; k++) {
      const i = (((start + k) % n) + n) % n;
      const b = backends[i];
      if (available(b)) {
        this.lastId = b.id;
        this.lastIndex = i;
        return b;
      }
    }
    return undefined;
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Weighted round robin (interleaved): the current weight cw steps down by the gcd of
 * the weights each time the cursor wraps, and a backend is chosen when its weight
 * is at least cw. Weights 3,2,1 give A A B A B C.
 */
class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr';
  private i = -1;
  private cw = 0;
  pick(backends: readonly Backend[]): Backend | undefined {
    const weights = backends.map((b) => Math.max(0, b.weight));
    const mw = Math.max(0, ...weights);
    if (mw === 0) return undefined;
    const di = weights.filter((w) => w > 0).reduce(gcd);
    // Weights changed: never look for a weight above the new maximum.
    if (this.cw > mw) this.cw = mw;
    const n = backends.length;
    for (;;) {
      this.i = (this.i + 1) % n;
      if (this.i === 0) {
        this.cw -= di;
        if (this.cw <= 0) this.cw = mw;
      }
      if (weights[this.i] >= this.cw) return backends[this.i];
    }
  }
}

/** Least connections: the smallest overhead; weights only exclude (0) or admit. */
class LeastConnection implements Scheduler {
  readonly name = 'lc';
  pick(backends: readonly Backend[]): Backend | undefined {
    let least: Backend | undefined;
    for (const b of backends) {
      if (!available(b)) continue;
      if (!least || connOverhead(b) < connOverhead(least)) least = b;
    }
    return least;
  }
}

/**
 * Pick by overhead/weight, comparing cross-multiplied as the kernel does
 * (loh * dw > doh * lw) so that ties go to the earlier backend.
 */
function leastWeighted(backends: readonly Backend[], overhead: (b: Backend) => number): Backend | undefined {
  let least: Backend | undefined;
  let loh = 0;
  for (const b of backends) {
    if (!available(b)) continue;
    const doh = overhead(b);
    if (!least || loh * b.weight > doh * least.weight) {
      least = b;
      loh = doh;
    }
  }
  return least;
}

/** Weighted least connections: smallest (256*active + inactive) / weight. */
class WeightedLeastConnection implements Scheduler {
  readonly name = 'wlc';
  pick(backends: readonly Backend[]): Backend | undefined {
    return leastWeighted(backends, connOverhead);
  }
}

/** Shortest expected delay: smallest (active + 1) / weight. */
class ShortestExpectedDelay implements Scheduler {
  readonly name = 'sed';
  pick(backends: readonly Backend[]): Backend | undefined {
    return leastWeighted(backends, (b) => b.activeConns + 1);
  }
}

/** Never queue: an idle backend (no active connection) at once, else shortest expected delay. */
class NeverQueue implements Scheduler {
  readonly name = 'nq';
  pick(backends: readonly Backend[]): Backend | undefined {
    const idle = backends.find((b) => available(b) && b.activeConns === 0);
    return idle ?? leastWeighted(backends, (b) => b.activeConns + 1);
  }
}

const TAB_SIZE = 256;

/** dh's bucket: (addr * 2654435761) mod 256 (ip_vs_dh_hashkey). */
export function dhBucket(ip: string): number {
  return Math.imul(ipv4ToNumber(ip), 2654435761 | 0) & (TAB_SIZE - 1);
}

/** sh's bucket: hash_32(addr, 8), the top 8 bits of addr * GOLDEN_RATIO_32 (ip_vs_sh_hashkey, source port not used). */
export function shBucket(ip: string): number {
  return Math.imul(ipv4ToNumber(ip), 0x61c88647) >>> 24;
}

/**
 * Destination hashing: the table deals backends to buckets one by one in list order;
 * the bucket of the dialled address decides. An unavailable backend there means no
 * backend (IPVS does not look further).
 */
class DestinationHashing implements Scheduler {
  readonly name = 'dh';
  pick(backends: readonly Backend[], conn: Connection): Backend | undefined {
    if (backends.length === 0) return undefined;
    const b = backends[dhBucket(conn.destIP) % backends.length];
    return available(b) ? b : undefined;
  }
}

/** sh's table: each backend takes as many consecutive buckets as its weight (at least one), cycling. */
export function shTable(backends: readonly Backend[]): Backend[] {
  const table: Backend[] = [];
  if (backends.length === 0) return table;
  let i = 0;
  let count = 0;
  while (table.length < TAB_SIZE) {
    const b = backends[i];
    table.push(b);
    if (++count >= b.weight) {
      i = (i + 1) % backends.length;
      count = 0;
    }
  }
  return table;
}

/** Source hashing: the client's address picks the bucket, so a client always lands on the same backend. */
class SourceHashing implements Scheduler {
  readonly name = 'sh';
  private cacheKey = '';
  private table: Backend[] = [];
  pick(backends: readonly Backend[], conn: Connection): Backend | undefined {
    const key = backends.map((b) => `${b.id}/${b.weight}`).join(',');
    if (key !== this.cacheKey) {
      this.cacheKey = key;
      this.table = shTable(backends);
    }
    const slot = this.table[shBucket(conn.clientIP)];
    if (!slot) return undefined;
    // The table holds the backends as they were; use the current counters.
    const b = backends.find((x) => x.id === slot.id);
    return b && available(b) ? b : undefined;
  }
}

const SCHEDULERS: Readonly<Record<SchedulerName, new () => Scheduler>> = {
  rr: RoundRobin,
  wrr: WeightedRoundRobin,
  lc: LeastConnection,
  wlc: WeightedLeastConnection,
  sed: ShortestExpectedDelay,
  nq: NeverQueue,
  dh: DestinationHashing,
  sh: SourceHashing,
};

/** A new scheduler of the given kind (rr and wrr keep their cursor in it). */
export function createScheduler(name: SchedulerName): Scheduler {
  return new SCHEDULERS[name]();
}
