/**
 * When each service of the compose file starts, as compose decides it: as
 * soon as what it depends on is there — started (`service_started`),
 * healthy (`service_healthy`) or, for a one-shot, finished
 * (`service_completed_successfully`) — and not later: services that do not
 * wait for each other start together (etcd while init makes the
 * credentials; the scheduler, controller-manager and every node once the
 * api-server is healthy). The starting and the health checks are the
 * caller's; this is only the order.
 *
 * Where kemu differs from compose, on purpose: a service the caller says may
 * start early (one that waits for the other's listener itself, as every
 * component waits for its api-server) does not wait for that service to be
 * healthy, nor started: only for the one-shots before it (init, which makes
 * the credentials). It starts at the lowest CPU share, so that it loads its
 * program on the CPU that etcd and the api-server, starting meanwhile, leave
 * idle, and gets its share back (`release`) when what it waits for is healthy.
 * On two cores, thirteen Node programs loading only after the api-server was
 * healthy were the largest part of `kemu up` (README, "kemu up").
 */
import type { ComposeService } from './compose.js';

export interface Launcher {
  /** Start a service (`early`: at the lowest priority); for a one-shot, resolve when it has finished (successfully: reject otherwise). */
  start(svc: ComposeService, early?: boolean): Promise<void>;
  /** Resolve when the service is healthy. */
  healthy(svc: ComposeService): Promise<void>;
  /** Whether `svc` may start before `dep` is healthy, waiting for it itself. Never for a one-shot. */
  early?(svc: ComposeService, dep: ComposeService): boolean;
  /** What a service started early waited for is healthy: give it its CPU share back. */
  release?(svc: ComposeService): void | Promise<void>;
}

/** Start every service once, each after what it depends on; resolves when all have started (one-shots: finished) and the early ones are released. */
export async function launchAll(services: ComposeService[], l: Launcher): Promise<void> {
  const byName = new Map(services.map((s) => [s.name, s]));
  const started = new Map<string, Promise<void>>();
  const depOf = (svc: ComposeService, name: string): ComposeService => {
    const d = byName.get(name);
    if (!d) throw new Error(`compose file: ${svc.name} depends on unknown service ${name}`);
    return d;
  };
  /** The one-shots `svc` comes after, directly or not, and itself if it is one. */
  const oneShotsOf = (svc: ComposeService, seen = new Set<string>()): ComposeService[] => {
    if (seen.has(svc.name)) return [];
    seen.add(svc.name);
    const before = svc.dependsOn.flatMap((dep) => oneShotsOf(depOf(svc, dep.name), seen));
    return svc.oneShot ? [svc, ...before] : before;
  };
  const launch = (svc: ComposeService): Promise<void> => {
    let p = started.get(svc.name);
    if (!p) {
      p = (async () => {
        const awaited: Promise<void>[] = [];
        await Promise.all(
          svc.dependsOn.map(async (dep) => {
            const d = depOf(svc, dep.name);
            if (dep.condition === 'service_healthy' && !svc.oneShot && l.early?.(svc, d)) {
              await Promise.all(oneShotsOf(d).map(launch));
              const healthy = launch(d).then(() => l.healthy(d));
              healthy.catch(() => undefined); // reported by whoever else waits for d, or below once started
              awaited.push(healthy);
              return;
            }
            await launch(d);
            if (dep.condition === 'service_healthy') await l.healthy(d);
          }),
        );
        if (!awaited.length) return l.start(svc);
        await l.start(svc, true);
        await Promise.all(awaited);
        await l.release?.(svc);
      })();
      started.set(svc.name, p);
    }
    return p;
  };
  await Promise.all(services.map(launch));
}
