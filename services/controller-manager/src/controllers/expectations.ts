/**
 * Controller expectations (Kubernetes' ControllerExpectations): after asking
 * for N creations or deletions, a controller waits until its informer has
 * seen them (or 5 minutes pass) before computing a new difference, so a slow
 * cache never causes double creation.
 */
const TTL_MS = 5 * 60 * 1000;

interface Expectation {
  add: number;
  del: number;
  at: number;
}

export class Expectations {
  private m = new Map<string, Expectation>();
  constructor(private now: () => number = Date.now) {}

  expect(key: string, add: number, del: number): void {
    this.m.set(key, { add, del, at: this.now() });
  }

  creationObserved(key: string): void {
    const e = this.m.get(key);
    if (e) e.add--;
  }

  deletionObserved(key: string): void {
    const e = this.m.get(key);
    if (e) e.del--;
  }

  /** Lower what is still expected when an action failed and will not be observed. */
  lower(key: string, add: number, del: number): void {
    const e = this.m.get(key);
    if (e) {
      e.add -= add;
      e.del -= del;
    }
  }

  satisfied(key: string): boolean {
    const e = this.m.get(key);
    if (!e) return true;
    return (e.add <= 0 && e.del <= 0) || this.now() - e.at > TTL_MS;
  }

  delete(key: string): void {
    this.m.delete(key);
  }
}
