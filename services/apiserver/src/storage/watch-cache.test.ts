import { describe, expect, it } from 'vitest';
import { parseSelector, type KubeObject, type WatchEventType } from '@kemu/api';
import type { EtcdStore, StoreEvent } from './etcd-store.js';
import { WatchCache, type WatchFilter } from './watch-cache.js';

/** An etcd stand-in for the cache's two calls: list, and a watch we drive by hand. */
class FakeStore {
  objects = new Map<string, KubeObject>();
  rev = 10;
  feeds: { from: number; push: (evs: StoreEvent[]) => void; fail: (e: Error) => void }[] = [];
  history: StoreEvent[] = [];
  list(prefix: string) {
    return Promise.resolve({
      items: [...this.objects].filter(([k]) => k.startsWith(prefix)).map(([key, obj]) => ({ key, obj, rev: Number(obj.metadata.resourceVersion) })),
      rev: this.rev,
    });
  }
  watch(_prefix: string, from: number, push: (evs: StoreEvent[]) => void, fail: (e: Error) => void) {
    const feed = { from, push, fail };
    this.feeds.push(feed);
    const old = this.history.filter((e) => e.rev >= from);
    if (old.length) push(old);
    const cancel = () => {
      this.feeds.splice(this.feeds.indexOf(feed), 1);
      return Promise.resolve();
    };
    return Promise.resolve({ cancel });
  }
  put(name: string, labels: Record<string, string>, created = true) {
    this.rev++;
    const key = `/registry/configmaps/ns/${name}`;
    const prev = this.objects.get(key);
    const obj = { metadata: { name, namespace: 'ns', labels, resourceVersion: String(this.rev) } };
    this.objects.set(key, obj);
    const ev: StoreEvent = { type: 'put', key, rev: this.rev, obj, prev, created };
    this.history.push(ev);
    this.feeds[0]?.push([ev]);
  }
  del(name: string) {
    this.rev++;
    const key = `/registry/configmaps/ns/${name}`;
    const prev = this.objects.get(key);
    this.objects.delete(key);
    const ev: StoreEvent = { type: 'delete', key, rev: this.rev, prev, created: false };
    this.history.push(ev);
    this.feeds[0]?.push([ev]);
  }
}

const all: WatchFilter = { labels: [], fields: [] };
function sink(capacity = Infinity) {
  const events: string[] = [];
  let closed = false;
  return {
    events,
    get closed() {
      return closed;
    },
    send(type: WatchEventType, obj: KubeObject) {
      events.push(`${type} ${obj.metadata.name}`);
      return events.length < capacity;
    },
    close() {
      closed = true;
    },
  };
}

async function setup(capacity = 100) {
  const store = new FakeStore();
  store.put('a', { app: 'x' });
  const cache = new WatchCache(store as unknown as EtcdStore, 'configmaps', { capacity });
  await cache.start();
  return { store, cache };
}

describe('watch cache', () => {
  it('lists what etcd has and follows its events', async () => {
    const { store, cache } = await setup();
    store.put('b', {});
    store.del('a');
    expect(cache.list(all).items.map((o) => o.metadata.name)).toEqual(['b']);
    expect(cache.rev).toBe(store.rev);
  });

  it('starts a watch from 0 with synthetic ADDED events, then live ones', async () => {
    const { store, cache } = await setup();
    const s = sink();
    await cache.watch(0, all, s);
    store.put('b', {});
    store.del('b');
    expect(s.events).toEqual(['ADDED a', 'ADDED b', 'DELETED b']);
  });

  it('ends the initial events with a bookmark when asked (sendInitialEvents)', async () => {
    const { store, cache } = await setup();
    const seen: { type: string; obj: KubeObject }[] = [];
    await cache.watch(0, all, { send: (type, obj) => seen.push({ type, obj }) > 0, close: () => undefined }, { initialEventsEnd: true });
    store.put('b', {});
    expect(seen.map((e) => e.type)).toEqual(['ADDED', 'BOOKMARK', 'ADDED']);
    expect(seen[1].obj.metadata).toEqual({ resourceVersion: '11', annotations: { 'k8s.io/initial-events-end': 'true' } });
  });

  it('resumes from a resourceVersion with only the later events', async () => {
    const { store, cache } = await setup();
    store.put('b', {});
    const rv = store.rev;
    store.put('c', {});
    const s = sink();
    await cache.watch(rv, all, s);
    expect(s.events).toEqual(['ADDED c']);
  });

  it('turns label changes into ADDED / DELETED for a filtered watcher', async () => {
    const { store, cache } = await setup();
    const s = sink();
    await cache.watch(store.rev, { labels: parseSelector('app=x'), fields: [] }, s);
    store.put('a', { app: 'y' }, false); // leaves the selection
    store.put('a', { app: 'x' }, false); // comes back
    store.put('a', { app: 'x', v: '2' }, false);
    store.put('other', { app: 'z' });
    expect(s.events).toEqual(['DELETED a', 'ADDED a', 'MODIFIED a']);
  });

  it('ends the watch of a consumer that cannot keep up, and no one else', async () => {
    const { store, cache } = await setup();
    const slow = sink(2);
    const fast = sink();
    await cache.watch(store.rev, all, slow);
    await cache.watch(store.rev, all, fast);
    for (let i = 0; i < 5; i++) store.put(`n${i}`, {});
    expect(slow.closed).toBe(true);
    expect(slow.events).toHaveLength(2);
    expect(fast.events).toHaveLength(5);
  });

  it('ends a watch whose consumer falls behind during the initial replay, leaving no gap', async () => {
    const { store, cache } = await setup();
    for (let i = 0; i < 4; i++) store.put(`r${i}`, {});
    const slow = sink(2);
    await cache.watch(0, all, slow);
    store.put('later', {});
    // Two of five current objects were sent: the watch must end, never go on with live events after a gap.
    expect(slow.closed).toBe(true);
    expect(slow.events).toEqual(['ADDED a', 'ADDED r0']);
  });

  it('ends a resumed watch whose consumer falls behind while catching up', async () => {
    const { store, cache } = await setup();
    const rv = store.rev;
    for (let i = 0; i < 4; i++) store.put(`r${i}`, {});
    const slow = sink(1);
    await cache.watch(rv, all, slow);
    store.put('later', {});
    expect(slow.closed).toBe(true);
    expect(slow.events).toEqual(['ADDED r0']);
  });

  it('serves a version older than its window from etcd history', async () => {
    const { store, cache } = await setup(2);
    const rv = store.rev;
    for (let i = 0; i < 5; i++) store.put(`h${i}`, {});
    const s = sink();
    await cache.watch(rv, all, s);
    expect(s.events).toEqual(['ADDED h0', 'ADDED h1', 'ADDED h2', 'ADDED h3', 'ADDED h4']);
    expect(store.feeds.at(-1)!.from).toBe(rv + 1);
  });

  it('ends a watch from etcd history whose consumer falls behind, and cancels that etcd watch', async () => {
    const { store, cache } = await setup(2);
    const rv = store.rev;
    for (let i = 0; i < 5; i++) store.put(`h${i}`, {});
    const slow = sink(1);
    await cache.watch(rv, all, slow);
    expect(slow.closed).toBe(true);
    expect(slow.events).toEqual(['ADDED h0']);
    expect(store.feeds).toHaveLength(1); // only the cache's own watch is left
  });

  it('answers 410 when etcd no longer has the history', async () => {
    const { store, cache } = await setup(1);
    for (let i = 0; i < 3; i++) store.put(`x${i}`, {});
    store.watch = () => Promise.reject(new Error('mvcc: required revision has been compacted'));
    await expect(cache.watch(5, all, sink())).rejects.toMatchObject({ code: 410, reason: 'Expired' });
  });
});
