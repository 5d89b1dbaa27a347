import { describe, expect, it } from 'vitest';
import { exposition, newMetricsRegistry, prom, registerWorkqueueMetrics } from './metrics.js';
import { WorkQueue } from './workqueue.js';

describe('metrics (prom-client)', () => {
  it('serves process metrics and escapes label values', async () => {
    const r = newMetricsRegistry();
    const c = new prom.Counter({ name: 'demo_total', help: 'Demo.', labelNames: ['path'], registers: [r] });
    c.inc({ path: 'a"b\\c\nd' });
    const { contentType, body } = await exposition(r);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('demo_total{path="a\\"b\\\\c\\nd"} 1');
    expect(body).toMatch(/^process_cpu_seconds_total \d/m);
    expect(body).toMatch(/^process_resident_memory_bytes \d/m);
  });

  it("reports each running queue under client-go's workqueue names, and forgets stopped ones", async () => {
    const r = newMetricsRegistry({ processMetrics: false });
    registerWorkqueueMetrics(r);
    const q = new WorkQueue();
    const ac = new AbortController();
    const blocked = () => new Promise<void>((res) => (ac.signal.aborted ? res() : ac.signal.addEventListener('abort', () => res())));
    const running = q.run(1, blocked, undefined, 'deploy"ment');
    q.add('ns/a');
    q.add('ns/b');
    const { body } = await exposition(r);
    expect(body).toContain('workqueue_adds_total{name="deploy\\"ment"} 2');
    expect(body).toContain('workqueue_depth{name="deploy\\"ment"} 1');
    expect(body).toContain('workqueue_retries_total{name="deploy\\"ment"} 0');
    expect(body).toMatch(/^workqueue_longest_running_processor_seconds\{name="deploy\\"ment"\} [\d.]+$/m);
    expect(body).toMatch(/^workqueue_unfinished_work_seconds\{name="deploy\\"ment"\} [\d.]+$/m);
    expect(body).toContain('# TYPE workqueue_adds_total counter');
    expect(body).toContain('# TYPE workqueue_depth gauge');
    q.shutDown();
    ac.abort();
    await running;
    expect((await exposition(r)).body).not.toContain('deploy');
  });
});
