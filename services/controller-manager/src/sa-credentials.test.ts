import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { alreadyExists, notFound, StatusError, type KubeObject } from '@kemu/api';
import type { ApiClient, Clock, ResourceId } from '@kemu/client';
import { CONTROLLER_ACCOUNTS, renewAt, ServiceAccountCredentials, TOKEN_EXPIRATION_SECONDS } from './sa-credentials.js';
import { FakeApi } from './testing/fake-api.js';

/** A clock the test moves by hand: timers fire when `advance` passes them. */
function fakeClock(start = 1_000_000): Clock & { advance(ms: number): Promise<void> } {
  let now = start;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const t = { at: now + ms, fn };
      timers.push(t);
      return { cancel: () => (timers = timers.filter((x) => x !== t)) };
    },
    async advance(ms) {
      const end = now + ms;
      // What is under way (a renewal's get and create) settles first, and may set timers.
      for (let i = 0; i < 20; i++) await Promise.resolve();
      for (;;) {
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        // Time moves to each timer in turn, so what a timer schedules is due when its turn comes.
        now = Math.max(now, due.at);
        timers = timers.filter((t) => t !== due);
        due.fn();
        // Let the renewal's awaits (get, create) settle.
        for (let i = 0; i < 20; i++) await Promise.resolve();
      }
      now = end;
    },
  };
}

/** The manager's client as the credentials use it: service accounts in kube-system and their TokenRequests. */
function fakeManager(clock: Clock) {
  const accounts = new Set<string>();
  const calls: string[] = [];
  let issued = 0;
  let failTokens = 0;
  const manager: Pick<ApiClient, 'get' | 'create'> = {
    get(r: ResourceId, name: string) {
      calls.push(`get ${r.resource} ${name}`);
      if (!accounts.has(name)) return Promise.reject(notFound('serviceaccounts', '', name));
      return Promise.resolve({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: r.namespace } });
    },
    create(r: ResourceId, obj: KubeObject, opts: { subresource?: string; name?: string } = {}) {
      return Promise.resolve().then(() => created(r, obj, opts));
    },
  };
  function created(r: ResourceId, obj: KubeObject, opts: { subresource?: string; name?: string }): KubeObject {
    if (opts.subresource === 'token') {
      calls.push(`token ${opts.name} ${(obj.spec as { expirationSeconds: number }).expirationSeconds}`);
      if (failTokens > 0) {
        failTokens--;
        throw new StatusError(503, 'ServiceUnavailable', 'api-server unavailable');
      }
      const exp = new Date(clock.now() + TOKEN_EXPIRATION_SECONDS * 1000).toISOString();
      return { ...obj, status: { token: `token-${opts.name}-${++issued}`, expirationTimestamp: exp } };
    }
    calls.push(`create ${r.resource} ${obj.metadata.name}`);
    if (accounts.has(obj.metadata.name!)) throw alreadyExists('serviceaccounts', '', obj.metadata.name!);
    accounts.add(obj.metadata.name!);
    return obj;
  }
  return { manager, accounts, calls, failNextTokens: (n: number) => (failTokens = n) };
}

/** Clients that only remember how to read their token. */
function clientsSeen() {
  const made: { token: () => string | Promise<string>; closed: boolean }[] = [];
  const make = (token: () => string | Promise<string>) => {
    const c = { token, closed: false };
    made.push(c);
    return { close: () => (c.closed = true) } as unknown as ApiClient;
  };
  return { made, make };
}

const log = pino({ level: 'silent' });

describe('renewAt', () => {
  it.each([
    [0, 3600_000, 2880_000],
    [1000, 1000 + 600_000, 1000 + 480_000],
    [5000, 4000, 4000],
  ])('a token issued at %i expiring at %i is renewed at %i', (issued, expires, at) => {
    expect(renewAt(issued, expires)).toBe(at);
  });
});

describe('ServiceAccountCredentials', () => {
  it('creates a missing account, asks for an hour-long token and shares one client per account', async () => {
    const clock = fakeClock();
    const api = fakeManager(clock);
    const clients = clientsSeen();
    const creds = new ServiceAccountCredentials(api.manager, clients.make, log, clock);
    expect(creds.clientFor('node-controller')).toBe(creds.clientFor('node-controller'));
    expect(clients.made).toHaveLength(1);
    // A call made before the first token is there waits for it.
    expect(await clients.made[0].token()).toBe('token-node-controller-1');
    expect(api.calls).toEqual(['get serviceaccounts node-controller', 'create serviceaccounts node-controller', 'token node-controller 3600']);
    creds.stop();
    expect(clients.made[0].closed).toBe(true);
  });

  it('renews the token with a fifth of its life left, and retries a failed renewal while the old one holds', async () => {
    const clock = fakeClock();
    const api = fakeManager(clock);
    api.accounts.add('deployment-controller');
    const clients = clientsSeen();
    const creds = new ServiceAccountCredentials(api.manager, clients.make, log, clock);
    creds.clientFor('deployment-controller');
    const token = clients.made[0].token;
    await token();
    await clock.advance(2879_000);
    expect(token()).toBe('token-deployment-controller-1');
    api.failNextTokens(2);
    await clock.advance(1000);
    expect(token()).toBe('token-deployment-controller-1');
    await clock.advance(60_000);
    expect(token()).toBe('token-deployment-controller-2');
    expect(api.calls.filter((c) => c.startsWith('token'))).toHaveLength(4);
    // The next renewal comes 80% of the new token's life later, not sooner.
    await clock.advance(2800_000);
    expect(token()).toBe('token-deployment-controller-2');
    await clock.advance(100_000);
    expect(token()).toBe('token-deployment-controller-3');
    creds.stop();
  });

  it('makes the account again when it was deleted before a renewal', async () => {
    const clock = fakeClock();
    const api = fakeManager(clock);
    const clients = clientsSeen();
    const creds = new ServiceAccountCredentials(api.manager, clients.make, log, clock);
    creds.clientFor('endpoint-controller');
    await clients.made[0].token();
    api.accounts.delete('endpoint-controller');
    await clock.advance(2880_000);
    expect(api.accounts.has('endpoint-controller')).toBe(true);
    expect(clients.made[0].token()).toBe('token-endpoint-controller-2');
    creds.stop();
  });

  it('retries a failed first issuance; calls wait for it, and fail once stopped', async () => {
    const clock = fakeClock();
    const api = fakeManager(clock);
    const clients = clientsSeen();
    const creds = new ServiceAccountCredentials(api.manager, clients.make, log, clock);
    api.failNextTokens(1);
    creds.clientFor('podgc');
    const waiting = clients.made[0].token();
    await clock.advance(1000);
    expect(await waiting).toBe('token-podgc-1');
    api.failNextTokens(5);
    creds.clientFor('never');
    const never = clients.made[1].token();
    creds.stop();
    await expect(never).rejects.toThrow('controller credentials stopped');
  });

  it("gives each controller its account's client, the CSR controllers certificate-controller's, an unknown one the manager's", async () => {
    const clock = fakeClock();
    const api = fakeManager(clock);
    const clients = clientsSeen();
    const creds = new ServiceAccountCredentials(api.manager, clients.make, log, clock);
    const base = new FakeApi().context().ctx;
    const signing = creds.contextFor(base, 'csrsigning');
    const approving = creds.contextFor(base, 'csrapproving');
    expect(signing.client).toBe(approving.client);
    expect(signing.client).not.toBe(base.client);
    expect(signing.informers).toBe(base.informers);
    expect(signing.recorder).not.toBe(base.recorder);
    expect(await clients.made[0].token()).toBe('token-certificate-controller-1');
    expect(creds.contextFor(base, 'no-such-controller')).toBe(base);
    creds.stop();
  });

  it('names the accounts Kubernetes gives its controllers', () => {
    expect(CONTROLLER_ACCOUNTS).toMatchObject({
      deployment: 'deployment-controller',
      daemonset: 'daemon-set-controller',
      garbagecollector: 'generic-garbage-collector',
      nodelifecycle: 'node-controller',
      'taint-eviction-controller': 'node-controller',
      podgc: 'pod-garbage-collector',
    });
  });
});
