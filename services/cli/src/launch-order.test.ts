import { describe, expect, it } from 'vitest';
import type { ComposeService } from './compose.js';
import { launchAll } from './launch-order.js';

const svc = (name: string, dependsOn: ComposeService['dependsOn'] = [], oneShot = false): ComposeService => ({
  name,
  dependsOn,
  oneShot,
  command: [],
  environment: {},
});

/** Runs launchAll with health that comes only when told, recording what happens in order. */
function harness(services: ComposeService[], early?: (s: ComposeService, d: ComposeService) => boolean) {
  const log: string[] = [];
  const health = new Map<string, () => void>();
  const healthy = new Map(services.map((s) => [s.name, new Promise<void>((r) => health.set(s.name, r))]));
  const done = launchAll(services, {
    start: (s, isEarly) => {
      log.push(`start ${s.name}${isEarly ? ' early' : ''}`);
      return Promise.resolve();
    },
    healthy: (s) => healthy.get(s.name)!,
    early,
    release: (s) => void log.push(`release ${s.name}`),
  });
  const tick = () => new Promise((r) => setTimeout(r, 0));
  return { log, done, tick, becomeHealthy: (n: string) => health.get(n)!() };
}

describe('launchAll', () => {
  const init = svc('init', [], true);
  const etcd = svc('etcd', [{ name: 'init', condition: 'service_completed_successfully' }]);
  const api = svc('apiserver', [
    { name: 'init', condition: 'service_completed_successfully' },
    { name: 'etcd', condition: 'service_healthy' },
  ]);
  const node = svc('node-1', [{ name: 'apiserver', condition: 'service_healthy' }]);

  it('starts a service once what it depends on is healthy, as compose does', async () => {
    const h = harness([init, etcd, api, node]);
    await h.tick();
    expect(h.log).toEqual(['start init', 'start etcd']);
    h.becomeHealthy('etcd');
    await h.tick();
    expect(h.log).toEqual(['start init', 'start etcd', 'start apiserver']);
    h.becomeHealthy('apiserver');
    await h.done;
    expect(h.log).toEqual(['start init', 'start etcd', 'start apiserver', 'start node-1']);
  });

  it('starts an early service once the one-shots before its dependency are done, and releases it when that is healthy', async () => {
    const h = harness([init, etcd, api, node], (_s, d) => d.name === 'apiserver');
    await h.tick();
    await h.tick();
    expect(h.log).toEqual(['start init', 'start etcd', 'start node-1 early']);
    h.becomeHealthy('etcd');
    await h.tick();
    expect(h.log).toEqual(['start init', 'start etcd', 'start node-1 early', 'start apiserver']);
    let finished = false;
    void h.done.then(() => (finished = true));
    await h.tick();
    expect(finished).toBe(false);
    h.becomeHealthy('apiserver');
    await h.done;
    expect(h.log.at(-1)).toBe('release node-1');
  });

  it('never starts a one-shot early', async () => {
    const job = svc('job', [{ name: 'apiserver', condition: 'service_healthy' }], true);
    const h = harness([init, etcd, api, job], () => true);
    h.becomeHealthy('etcd');
    await h.tick();
    await h.tick();
    expect(h.log).not.toContain('start job early');
    h.becomeHealthy('apiserver');
    await h.done;
    expect(h.log.at(-1)).toBe('start job');
  });
});
