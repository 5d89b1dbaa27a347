import { describe, expect, it } from 'vitest';
import { exposition } from '@kemu/client';
import { DnsMetrics } from './metrics.js';

const line = (text: string, prefix: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .sort();

describe('DnsMetrics', () => {
  it("exposes CoreDNS's counters and duration histogram from the tallies", async () => {
    const m = new DnsMetrics('dns://:53');
    const base = { zone: 'cluster.local.', transport: 'udp', family: 4, plugin: 'kubernetes' } as const;
    m.observe({ ...base, qtype: 'A', rcode: 'NOERROR', seconds: 0.0001 });
    m.observe({ ...base, qtype: 'A', rcode: 'NXDOMAIN', seconds: 0.0003 });
    m.observe({ ...base, qtype: 'A', rcode: 'NOERROR', seconds: 0.002, transport: 'tcp' });
    m.observe({ ...base, qtype: 'TYPE65280', rcode: 'NOERROR', seconds: 20 });
    m.observe({ ...base, zone: '.', qtype: 'AAAA', rcode: 'SERVFAIL', plugin: 'forward', seconds: 0.0002, family: 6 });
    const { body } = await exposition(m.registry);
    expect(line(body, 'coredns_dns_requests_total{')).toEqual([
      'coredns_dns_requests_total{server="dns://:53",zone=".",view="",proto="udp",family="2",type="AAAA"} 1',
      'coredns_dns_requests_total{server="dns://:53",zone="cluster.local.",view="",proto="tcp",family="1",type="A"} 1',
      'coredns_dns_requests_total{server="dns://:53",zone="cluster.local.",view="",proto="udp",family="1",type="A"} 2',
      'coredns_dns_requests_total{server="dns://:53",zone="cluster.local.",view="",proto="udp",family="1",type="other"} 1',
    ]);
    expect(line(body, 'coredns_dns_responses_total{')).toEqual([
      'coredns_dns_responses_total{server="dns://:53",zone=".",view="",rcode="SERVFAIL",plugin="forward"} 1',
      'coredns_dns_responses_total{server="dns://:53",zone="cluster.local.",view="",rcode="NOERROR",plugin="kubernetes"} 3',
      'coredns_dns_responses_total{server="dns://:53",zone="cluster.local.",view="",rcode="NXDOMAIN",plugin="kubernetes"} 1',
    ]);
    expect(body).toContain('# TYPE coredns_dns_request_duration_seconds histogram');
    // Cumulative buckets, as Prometheus reads them: 0.1 ms and 0.3 ms and 2 ms for A in the cluster zone.
    const a = (le: string) => `coredns_dns_request_duration_seconds_bucket{server="dns://:53",zone="cluster.local.",view="",type="A",le="${le}"}`;
    expect(body).toContain(`${a('0.00025')} 1\n`);
    expect(body).toContain(`${a('0.0005')} 2\n`);
    expect(body).toContain(`${a('0.001')} 2\n`);
    expect(body).toContain(`${a('0.002')} 3\n`);
    expect(body).toContain(`${a('8.192')} 3\n`);
    expect(body).toContain(`${a('+Inf')} 3\n`);
    expect(body).toMatch(/coredns_dns_request_duration_seconds_sum\{server="dns:\/\/:53",zone="cluster.local.",view="",type="A"\} 0.0024\d*\n/);
    expect(body).toContain('coredns_dns_request_duration_seconds_count{server="dns://:53",zone="cluster.local.",view="",type="A"} 3\n');
    // 20 s is past the last bucket: only +Inf counts it.
    const other = (le: string) => `coredns_dns_request_duration_seconds_bucket{server="dns://:53",zone="cluster.local.",view="",type="other",le="${le}"}`;
    expect(body).toContain(`${other('8.192')} 0\n`);
    expect(body).toContain(`${other('+Inf')} 1\n`);
    // The process metrics are still there.
    expect(body).toContain('process_cpu_user_seconds_total');
  });

  it('shows what came after a scrape at the next one, and nothing twice', async () => {
    const m = new DnsMetrics('dns://:53');
    const o = { zone: 'cluster.local.', transport: 'udp', family: 4, qtype: 'A', rcode: 'NOERROR', plugin: 'kubernetes', seconds: 0.0001 } as const;
    m.observe(o);
    await exposition(m.registry);
    m.observe(o);
    const { body } = await exposition(m.registry);
    expect(body).toContain('coredns_dns_requests_total{server="dns://:53",zone="cluster.local.",view="",proto="udp",family="1",type="A"} 2\n');
    expect(body).toContain('coredns_dns_request_duration_seconds_count{server="dns://:53",zone="cluster.local.",view="",type="A"} 2\n');
  });
});
