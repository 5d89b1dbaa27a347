import { describe, expect, it } from 'vitest';
import { alreadyExists, conflict, notFound, type KubeObject } from '@kemu/api';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { ApiClient } from './api-client.js';
import type { Clock } from './clock.js';
import { LeaderElector } from './leader-election.js';

/** Let every pending promise callback run (no wall-clock wait). */
const flush = () => new Promise<void>((r) => setImmediate(r));

/** A clock whose time moves only when the test says, firing due timers in order. */
class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void }[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return { cancel: () => void (this.timers = this.timers.filter((x) => x !== timer)) };
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
    await flush();
  }
}

/** Run `fn` now and answer with its result, or its exception as a rejection, as an api call does. */
const answer = <T>(fn: () => T): Promise<T> => new Promise((resolve) => resolve(fn()));

/** One Lease kept as the api-server would (resourceVersion checks); a candidate in `down` cannot reach it. */
function leaseServer() {
  let lease: KubeObject | undefined;
  let rv = 0;
  const down = new Set<string>();
  const client = (id: string) => {
    const reach = () => {
      if (down.has(id)) throw new Error('connection refused');
    };
    const store = (o: KubeObject) => (lease = { ...structuredClone(o), metadata: { ...o.metadata, resourceVersion: String(++rv) } });
    return {
      get: (_r: unknown, name: string) =>
        answer(() => {
          reach();
          if (!lease) throw notFound('leases', 'coordination.k8s.io', name);
          return structuredClone(lease);
        }),
      create: (_r: unknown, o: KubeObject) =>
        answer(() => {
          reach();
          if (lease) throw alreadyExists('leases', 'coordination.k8s.io', o.metadata.name!);
          return structuredClone(store(o));
        }),
      update: (_r: unknown, o: KubeObject) =>
        answer(() => {
          reach();
          if (o.metadata.resourceVersion !== lease?.metadata.resourceVersion)
            throw conflict('leases', 'coordination.k8s.io', o.metadata.name!, 'the object has been modified');
          return structuredClone(store(o));
        }),
    } as unknown as ApiClient;
  };
  return { client, down, lease: () => lease as Lease | undefined };
}

/**
 * One election: a lease server, a clock, and a log of who leads and stops
 * when. `join(id)` starts a candidate (through `client`, if given: a test can
 * then make its calls hang).
 */
function election() {
  const clock = new FakeClock();
  const server = leaseServer();
  const log: string[] = [];
  const join = (id: string, client = server.client(id)) => {
    let leading: AbortSignal | undefined;
    const e = new LeaderElector(client, {
      name: 'kube-controller-manager',
      identity: id,
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
      clock,
      onStartedLeading: (signal) => {
        leading = signal;
        log.push(`${id} leads at ${clock.t}`);
      },
      onStoppedLeading: () => log.push(`${id} stops at ${clock.t}`),
    });
    const done = e.run();
    return { e, done, leading: () => leading };
  };
  return { clock, server, log, join };
}

describe('LeaderElector (fake clock)', () => {
  it('acquires a free lease and renews it every retry period', async () => {
    const { clock, server, log, join } = election();
    const a = join('a');
    await clock.advance(0);
    expect(log).toEqual(['a leads at 0']);
    expect(a.e.isLeader).toBe(true);
    expect(server.lease()?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    await clock.advance(6_000);
    expect(server.lease()?.spec?.renewTime).toBe('1970-01-01T00:00:06.000000Z');
    expect(a.leading()?.aborted).toBe(false);
    await a.e.stop();
    await a.done;
  });

  it('stops leading when renewals fail past the renew deadline', async () => {
    const { clock, server, log, join } = election();
    const a = join('a');
    await clock.advance(0);
    server.down.add('a');
    await clock.advance(9_000);
    expect(a.leading()?.aborted).toBe(false);
    await clock.advance(10_000 + 2_000 - 9_000); // the deadline, and the retry that finds it passed
    expect(a.leading()?.aborted).toBe(true);
    expect(log).toEqual(['a leads at 0', 'a stops at 12000']);
    await a.done;
  });

  it('lets a standby take over only once the silent leader’s lease has expired, after the leader stopped', async () => {
    const { clock, server, log, join } = election();
    join('a');
    await clock.advance(0);
    const b = join('b');
    await clock.advance(1_000);
    server.down.add('a'); // a's last renewal was at 0
    await clock.advance(13_500);
    expect(b.e.isLeader).toBe(false);
    await clock.advance(2_000);
    expect(b.e.isLeader).toBe(true);
    expect(server.lease()?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(log).toEqual(['a leads at 0', 'a stops at 12000', 'b leads at 16000']);
    await b.e.stop();
  });

  it('gives the lease up on stop, so a standby takes it at its next try instead of after the lease duration', async () => {
    const { clock, server, log, join } = election();
    const a = join('a');
    await clock.advance(0);
    const b = join('b');
    await clock.advance(3_000);
    await a.e.stop();
    await a.done;
    expect(server.lease()?.spec?.holderIdentity).toBe('');
    await clock.advance(2_000);
    expect(log).toEqual(['a leads at 0', 'a stops at 3000', 'b leads at 4000']);
    await b.e.stop();
  });

  it('counts a renewal that does not answer within the renew deadline as failed', async () => {
    const { clock, server, log, join } = election();
    const client = server.client('a');
    const a = join('a', client);
    await clock.advance(0);
    client.get = () => new Promise<never>(() => undefined); // the api-server stops answering
    await clock.advance(30_000);
    expect(log).toEqual(['a leads at 0', 'a stops at 12000']);
    await a.done;
  });

  it('gives up a try to acquire that does not answer, so a standby stuck on a dead connection still takes over', async () => {
    const { clock, server, log, join } = election();
    const a = join('a');
    await clock.advance(0);
    const client = server.client('b');
    const get = client.get.bind(client);
    let hangs = true;
    client.get = (...args: Parameters<typeof get>) => (hangs ? new Promise<never>(() => undefined) : get(...args));
    const b = join('b', client);
    await clock.advance(1_000);
    hangs = false; // b's first try never answers; the connection is back for the next
    await a.e.stop();
    await clock.advance(13_000); // b's hung try given up at the renew deadline (10 s), the next one a retry period later
    expect(b.e.isLeader).toBe(true);
    expect(log).toEqual(['a leads at 0', 'a stops at 1000', 'b leads at 12000']);
    await b.e.stop();
  });
});
