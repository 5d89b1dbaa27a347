/**
 * Controller expectations (Kubernetes' UIDTrackingControllerExpectations):
 * after asking for N creations or the deletion of some pods, a controller
 * waits until its informer has seen them (or 5 minutes pass) before
 * computing a new difference, so a slow cache never causes double creation
 * or double deletion.
 *
 * Creations are counted. Deletions are tracked by pod key: a pod is seen
 * deleted twice — when the api-server marks it (deletionTimestamp) and when
 * the kubelet removes it — and only the first sighting of an awaited pod may
 * count, or the second would stand in for another pod's deletion still on
 * its way and the controller would delete again.
 */
const TTL_MS = 5 * 60 * 1000;

interface Expectation {
  add: number;
  /** Keys (`namespace/name`) of pods whose deletion is awaited. */
  del: Set<string>;
  at: number;
}

export class Expectations {
  private m = new Map<string, Expectation>();
  constructor(private now: () => number = Date.now) {}

  /** Await `add` creations and the deletion of these pods (replacing what was awaited before). */
  expect(key: string, add: number, deleteKeys: readonly string[] = []): void {
    this.m.set(key, { add, del: new Set(deleteKeys), at: this.now() });
  }

  creationObserved(key: string): void {
    const e = this.m.get(key);
    if (e) e.add--;
  }

  /** A pod was seen deleted (or marked for deletion); a pod not awaited, or already seen, changes nothing. */
  deletionObserved(key: string, podKey: string): void {
    this.m.get(key)?.del.delete(podKey);
  }

  /** Creations that failed and will never be observed. */
  creationsFailed(key: string, n: number): void {
    const e = this.m.get(key);
    if (e) e.add -= n;
  }

  satisfied(key: string): boolean {
    const e = this.m.get(key);
    if (!e) return true;
    return (e.add <= 0 && e.del.size === 0) || this.now() - e.at > TTL_MS;
  }

  delete(key: string): void {
    this.m.delete(key);
  }
}
