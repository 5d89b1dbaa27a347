import { describe, expect, it } from 'vitest';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { hostPortRules, podChain, publishedPorts, staleChains } from './hostport.js';

describe('hostPort rules (portmap)', () => {
  const pod = { id: '0b1c2d3e-uid', name: 'default/web', podIP: '10.244.1.5', ports: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }] };

  it('a chain per pod: masquerade marks for hairpin and loopback, then the DNAT; the pod jumped to by its ports', () => {
    const chain = podChain(pod.id);
    expect(chain).toMatch(/^CNI-DN-[0-9a-f]{17}$/);
    expect(hostPortRules([pod]).split('\n')).toEqual([
      '*nat',
      ':CNI-HOSTPORT-DNAT - [0:0]',
      ':CNI-HOSTPORT-SETMARK - [0:0]',
      ':CNI-HOSTPORT-MASQ - [0:0]',
      `:${chain} - [0:0]`,
      '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
      '-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE',
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"kemu\\" id: \\"0b1c2d3e-uid\\"" -m multiport --dports 8080 -j ${chain}`,
      `-A ${chain} -s 10.244.1.5/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK`,
      `-A ${chain} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80`,
      'COMMIT',
      '',
    ]);
  });

  it('a hostIP narrows the match; UDP and TCP ports get a jump each', () => {
    const p = {
      ...pod,
      ports: [
        { hostPort: 53, containerPort: 5353, protocol: 'UDP', hostIP: '172.28.1.2' },
        { hostPort: 53, containerPort: 5353, protocol: 'TCP' },
      ],
    };
    const rules = hostPortRules([p]);
    expect(rules).toContain('-m multiport --dports 53 -j CNI-DN-');
    expect(rules.match(/-A CNI-HOSTPORT-DNAT /g)).toHaveLength(2);
    expect(rules).toContain('-d 172.28.1.2/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.244.1.5:5353');
    expect(rules).toContain(' -p tcp -m tcp --dport 53 -j DNAT --to-destination 10.244.1.5:5353');
  });

  it('no pod with a hostPort: the top-level chains only', () => {
    expect(hostPortRules([{ ...pod, ports: [] }])).not.toContain('CNI-DN-');
  });

  it('chains of pods that are gone are stale; the others are kept', () => {
    const gone = podChain('gone');
    expect(staleChains([podChain(pod.id), gone, 'CNI-HOSTPORT-DNAT'], [pod])).toEqual([gone]);
  });

  it('published ports: the containers ports with a hostPort, protocol defaulted', () => {
    const p: Pod = {
      spec: {
        containers: [
          {
            name: 'c',
            ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }, { containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '1.2.3.4' }],
          },
        ],
      },
    };
    expect(publishedPorts(p)).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'TCP' },
      { hostPort: 53, containerPort: 53, protocol: 'UDP', hostIP: '1.2.3.4' },
    ]);
  });
});
