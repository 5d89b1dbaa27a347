/**
 * When each service of the compose file starts, as compose decides it: as
 * soon as what it depends on is there — started (`service_started`),
 * healthy (`service_healthy`) or, for a one-shot, finished
 * (`service_completed_successfully`) — and not later: services that do not
 * wait for each other start together (etcd while init makes the
 * credentials; the scheduler, controller-manager and every node once the
 * api-server is healthy). The starting and the health checks are the
 * caller's; this is only the order.
 */
import type { ComposeService } from './compose.js';

export interface Launcher {
  /** Start a service; for a one-shot, resolve when it has finished (successfully: reject otherwise). */
  start(svc: ComposeService): Promise<void>;
  /** Resolve when the service is healthy. */
  healthy(svc: ComposeService): Promise<void>;
}

/** Start every service once, each after what it depends on; resolves when all have started (one-shots: finished). */
export async function launchAll(services: ComposeService[], l: Launcher): Promise<void> {
  const byName = new Map(services.map((s) => [s.name, s]));
  const started = new Map<string, Promise<void>>();
  const launch = (svc: ComposeService): Promise<void> => {
    let p = started.get(svc.name);
    if (!p) {
      p = (async () => {
        await Promise.all(
          svc.dependsOn.map(async (dep) => {
            const d = byName.get(dep.name);
            if (!d) throw new Error(`compose file: ${svc.name} depends on unknown service ${dep.name}`);
            await launch(d);
            if (dep.condition === 'service_healthy') await l.healthy(d);
          }),
        );
        await l.start(svc);
      })();
      started.set(svc.name, p);
    }
    return p;
  };
  await Promise.all(services.map(launch));
}
