import { describe, expect, it } from 'vitest';
import type { KubeObject, WatchEvent } from '@kemu/api';
import { Informer, InformerFactory, type ListWatcher } from './informer.js';
import type { ApiClient } from './api-client.js';

const cm = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', uid: name, resourceVersion: rv },
});

/** A client whose first watch answers 410 Gone, so the informer must relist. */
function fakeClient() {
  let lists = 0;
  let watches = 0;
  const state = [cm('a', '1')];
  const client = {
    list() {
      lists++;
      return Promise.resolve({ items: [...state], resourceVersion: String(10 * lists) });
    },
    watch(_r: unknown, opts: { resourceVersion?: string; signal?: AbortSignal }) {
      watches++;
      const n = watches;
      return {
        async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent> {
          if (n === 1) {
            state.push(cm('b', '5')); // happened while the watch was broken
            yield { type: 'ERROR', object: { kind: 'Status', code: 410, metadata: {} } };
            return;
          }
          expect(opts.resourceVersion).toBe('20');
          yield { type: 'MODIFIED', object: { ...cm('a', '21'), data: { x: '1' } } };
          yield { type: 'DELETED', object: cm('b', '22') };
          await new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true }));
        },
      };
    },
  };
  return { client: client as unknown as ApiClient, counts: () => ({ lists, watches }) };
}

describe('informer', () => {
  it('lists, watches, relists on 410 and tells handlers the difference', async () => {
    const { client, counts } = fakeClient();
    const inf = new Informer(client, { version: 'v1', resource: 'configmaps' }, { delay: () => Promise.resolve() });
    const seen: string[] = [];
    inf.on({
      add: (o) => seen.push(`add ${o.metadata.name}`),
      update: (_a, b) => seen.push(`update ${b.metadata.name}`),
      delete: (o) => seen.push(`delete ${o.metadata.name}`),
    });
    await inf.start();
    for (let i = 0; i < 50 && seen.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
    inf.stop();
    expect(seen).toEqual(['add a', 'add b', 'update a', 'delete b']);
    expect(counts().lists).toBe(2);
    expect(inf.lister.list().map((o) => o.metadata.name)).toEqual(['a']);
    expect(Object.isFrozen(inf.lister.get('ns/a'))).toBe(true); // read-only cache
    expect(inf.lister.byIndex('namespace', 'ns')).toHaveLength(1);
  });
});

/** How one watch stream ends, in the order the informer opens them. */
type Ending = 'clean' | 'error-500' | 'throw' | 'gone' | { healthyFor: number };

describe('informer re-watch back-off (client-go reflector: 800 ms, ×2, 30 s cap, jitter 1.0, reset after 2 min)', () => {
  function scripted(endings: Ending[], clock: { t: number }) {
    const log: string[] = [];
    let watches = 0;
    const client = {
      list() {
        log.push('list');
        return Promise.resolve({ items: [], resourceVersion: '1' });
      },
      watch(_r: unknown, opts: { signal?: AbortSignal }) {
        const end = endings[watches++];
        return {
          async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent> {
            log.push('watch');
            if (end === undefined) {
              // The script is over: a stream that lasts until the informer stops.
              log.push('done');
              await new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true }));
              return;
            }
            if (end === 'throw') throw new Error('connection reset');
            if (end === 'error-500') yield { type: 'ERROR', object: { kind: 'Status', code: 500, message: 'etcd away', metadata: {} } };
            if (end === 'gone') yield { type: 'ERROR', object: { kind: 'Status', code: 410, metadata: {} } };
            if (typeof end === 'object') clock.t += end.healthyFor;
          },
        };
      },
    };
    return { client: client as unknown as ApiClient, log };
  }

  async function run(endings: Ending[], random = () => 0) {
    const clock = { t: 0 };
    const { client, log } = scripted(endings, clock);
    const errors: unknown[] = [];
    const inf = new Informer(
      client,
      { version: 'v1', resource: 'configmaps' },
      {
        clock: { now: () => clock.t },
        random,
        delay: (ms) => {
          log.push(`wait ${ms}`);
          return Promise.resolve();
        },
        onError: (e) => errors.push(e),
      },
    );
    await inf.start();
    for (let i = 0; i < 200 && !log.includes('done'); i++) await new Promise((r) => setTimeout(r, 1));
    inf.stop();
    return { log, errors };
  }

  it('waits before re-watching however a stream ends, and before relisting after 410', async () => {
    const { log, errors } = await run(['clean', 'error-500', 'throw', 'gone']);
    expect(log).toEqual(['list', 'watch', 'wait 800', 'watch', 'wait 1600', 'watch', 'wait 3200', 'watch', 'wait 6400', 'list', 'watch', 'done']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['etcd away', 'connection reset']);
  });

  it('caps the wait at 30 s, jitters it up to ×2, and starts over after 2 minutes of a healthy stream', async () => {
    const { log } = await run(['clean', 'clean', 'clean', 'clean', 'clean', 'clean', 'clean', { healthyFor: 120_001 }], () => 0.5);
    expect(log.filter((l) => l.startsWith('wait'))).toEqual([
      'wait 1200',
      'wait 2400',
      'wait 4800',
      'wait 9600',
      'wait 19200',
      'wait 38400',
      'wait 45000',
      'wait 1200',
    ]);
  });
});

describe('InformerFactory.track', () => {
  it('names the informers a constructor asked for, shared ones included, and only those', () => {
    // Nothing is started: no call reaches the client.
    const f = new InformerFactory({} as ListWatcher);
    const pods = { version: 'v1', resource: 'pods' };
    const nodes = { version: 'v1', resource: 'nodes' };
    const a = f.track(() => {
      f.for(pods);
      return 'a';
    });
    const b = f.track(() => [f.for(pods), f.for(nodes)].length);
    expect(a.value).toBe('a');
    expect(a.informers).toEqual([f.for(pods)]);
    expect(b.informers).toEqual([f.for(pods), f.for(nodes)]);
  });
});
