import { describe, expect, it } from 'vitest';
import { parseCorefile } from './corefile.js';

describe('Corefile', () => {
  it('takes the zone, pods, ttl, forward and ports of the upstream kubeadm Corefile', () => {
    const text = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;
    expect(parseCorefile(text)).toEqual({
      port: 53,
      healthPort: 8080,
      readyPort: 8181,
      zone: 'cluster.local',
      podMode: 'insecure',
      ttl: 30,
      metricsPort: 9153,
      forward: { resolvConf: '/etc/resolv.conf' },
    });
  });

  it('other ports, upstream addresses, comments', () => {
    const text =
      '# test\n.:5353 {\n  kubernetes corp.example # zone\n  forward . 10.0.0.2 10.0.0.3:5353\n  health :18080\n  ready :18181\n  prometheus 0.0.0.0:19153\n}\n';
    expect(parseCorefile(text)).toEqual({
      port: 5353,
      zone: 'corp.example',
      forward: { upstreams: ['10.0.0.2', '10.0.0.3:5353'] },
      healthPort: 18080,
      readyPort: 18181,
      metricsPort: 19153,
    });
  });
});
