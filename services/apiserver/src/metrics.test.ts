import { describe, expect, it } from 'vitest';
import { apiServerMetrics } from './metrics.js';

describe('api-server metrics', () => {
  it('serves requests, latency, watchers and stored objects with the labels kube-apiserver uses', async () => {
    const counts = new Map([['pods', 3]]);
    const m = apiServerMetrics({ storageCounts: () => counts }, { processMetrics: false });
    m.onRequest('LIST', 'pods', 200, 0.02);
    m.onRequest('WATCH', 'pods', 200, 30);
    m.onWatchCount('rest', 1);
    m.onWatchCount('grpc', 2);
    m.onWatchCount('grpc', -1);
    counts.set('services', 1);
    const { contentType, body } = await m.expose();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('apiserver_request_total{verb="LIST",resource="pods",code="200"} 1');
    expect(body).toContain('apiserver_request_total{verb="WATCH",resource="pods",code="200"} 1');
    expect(body).toContain('apiserver_request_duration_seconds_bucket{le="0.025",verb="LIST",resource="pods"} 1');
    expect(body).toContain('apiserver_request_duration_seconds_count{verb="LIST",resource="pods"} 1');
    expect(body).not.toContain('apiserver_request_duration_seconds_count{verb="WATCH"');
    expect(body).toContain('apiserver_registered_watchers{kind="rest"} 1');
    expect(body).toContain('apiserver_registered_watchers{kind="grpc"} 1');
    expect(body).toContain('apiserver_storage_objects{resource="pods"} 3');
    expect(body).toContain('apiserver_storage_objects{resource="services"} 1');
  });
});
