/**
 * Compose healthchecks as `kemu up` waits for them: a service's check runs in
 * its network namespace every 100 ms until it passes, when other services wait
 * for it (compose's `interval` is for watching a running service, not for
 * starting one), and every 500 ms when only `kemu up`'s own summary does: each
 * check is a process or two (nsenter, curl) of 10-30 ms of CPU, and on two
 * cores thirteen services checked ten times a second took CPU the services
 * were starting with. A wait is shared
 * and its answer kept for the rest of the `up`: a service found healthy is
 * not asked again by each service that depends on it. A process of the
 * group the check covers (a node's kubelet and kube-proxy) that exits
 * meanwhile fails the wait at once, with its log.
 */
import { spawn } from 'node:child_process';
import type { ComposeService } from './compose.js';
import { KemuError } from './errors.js';

export interface HealthDeps {
  /** The namespace a service's check runs in. */
  netns(svc: string): string;
  alive(svc: string): boolean;
  /** The last lines of a service's log. */
  tail(svc: string): string;
}

/** Between two checks of a service another waits for, and of one nothing waits for. */
export const PERIOD_MS = { awaited: 100, summary: 500 } as const;

export class HealthWaits {
  private waits = new Map<string, Promise<void>>();

  constructor(
    private all: ComposeService[],
    private d: HealthDeps,
  ) {}

  /** Resolves when `svc` is healthy (at once without a healthcheck); rejects if it or its group died, or after `timeoutMs`. */
  wait(svc: ComposeService, o: { timeoutMs?: number; periodMs?: number } = {}): Promise<void> {
    let w = this.waits.get(svc.name);
    if (!w) {
      w = this.poll(svc, o.timeoutMs ?? 60_000, o.periodMs ?? PERIOD_MS.awaited);
      this.waits.set(svc.name, w);
    }
    return w;
  }

  private async poll(svc: ComposeService, timeoutMs: number, periodMs: number): Promise<void> {
    const check = svc.healthcheck;
    if (!check) return;
    const group = [svc, ...this.all.filter((s) => s.netns === svc.name)];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await run(this.d.netns(svc.name), check)) === 0) return;
      const dead = group.find((s) => !this.d.alive(s.name));
      if (dead) throw new KemuError(`${dead.name} exited during start-up:\n${this.d.tail(dead.name)}`);
      if (Date.now() > deadline) throw new KemuError(`${svc.name} did not become healthy in ${timeoutMs / 1000}s:\n${this.d.tail(svc.name)}`);
      await new Promise((r) => setTimeout(r, periodMs));
    }
  }
}

/** argv in a network namespace, without blocking: other services' checks and the nodes' watch go on meanwhile. */
function run(netns: string, argv: string[]): Promise<number> {
  return new Promise((resolve) => {
    // nsenter joins the network namespace only: `ip netns exec` also makes a mount namespace and mounts /sys anew.
    const p = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', ...argv], { stdio: 'ignore' });
    p.on('error', () => resolve(1));
    p.on('close', (code) => resolve(code ?? 1));
  });
}
