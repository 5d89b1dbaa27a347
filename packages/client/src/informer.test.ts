import { describe, expect, it } from 'vitest';
import type { KubeObject, WatchEvent } from '@kemu/api';
import { Informer } from './informer.js';
import type { ApiClient } from './api-client.js';

const cm = (name: string, rv: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', uid: name, resourceVersion: rv } });

/** A client whose first watch answers 410 Gone, so the informer must relist. */
function fakeClient() {
  let lists = 0;
  let watches = 0;
  const state = [cm('a', '1')];
  const client = {
    async list() {
      lists++;
      return { items: [...state], resourceVersion: String(10 * lists) };
    },
    watch(_r: unknown, opts: { resourceVersion?: string; signal?: AbortSignal }) {
      watches++;
      const n = watches;
      return {
        async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent> {
          if (n === 1) {
            state.push(cm('b', '5')); // happened while the watch was broken
            yield { type: 'ERROR', object: { kind: 'Status', code: 410, metadata: {} } as unknown as KubeObject };
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
    const inf = new Informer(client, { version: 'v1', resource: 'configmaps' });
    const seen: string[] = [];
    inf.on({ add: (o) => seen.push(`add ${o.metadata.name}`), update: (_a, b) => seen.push(`update ${b.metadata.name}`), delete: (o) => seen.push(`delete ${o.metadata.name}`) });
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
