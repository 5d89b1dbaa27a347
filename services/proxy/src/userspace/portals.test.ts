import { describe, expect, it } from 'vitest';
import { makeServicePort } from '../testing/fixtures.js';
import { buildPortalRules, isUserspaceChain } from './portals.js';
import { iptablesCleanupInput, parseIptablesSave } from '../runtime/kernel.js';
import { isIptablesModeChain } from '../runtime/kernel.js';

const svc = makeServicePort;

describe('buildPortalRules', () => {
  it('steers every address of a Service port with endpoints to its listener: REDIRECT for pods, DNAT to the node IP for the node', () => {
    const text = buildPortalRules(
      [
        {
          service: svc({ type: 'LoadBalancer', nodePort: 30080, externalIPs: ['1.2.3.4'], loadBalancerIPs: ['172.22.2.10'] }),
          proxyPort: 40001,
          hasEndpoints: true,
        },
      ],
      '172.22.1.1',
    );
    expect(text).toBe(`*nat
:KUBE-PORTALS-CONTAINER - [0:0]
:KUBE-PORTALS-HOST - [0:0]
:KUBE-NODEPORT-CONTAINER - [0:0]
:KUBE-NODEPORT-HOST - [0:0]
-A KUBE-PORTALS-CONTAINER -d 10.96.0.20/32 -p tcp -m comment --comment "ns/web" -m tcp --dport 80 -j REDIRECT --to-ports 40001
-A KUBE-PORTALS-HOST -d 10.96.0.20/32 -p tcp -m comment --comment "ns/web" -m tcp --dport 80 -j DNAT --to-destination 172.22.1.1:40001
-A KUBE-PORTALS-CONTAINER -d 1.2.3.4/32 -p tcp -m comment --comment "ns/web" -m tcp --dport 80 -j REDIRECT --to-ports 40001
-A KUBE-PORTALS-HOST -d 1.2.3.4/32 -p tcp -m comment --comment "ns/web" -m tcp --dport 80 -j DNAT --to-destination 172.22.1.1:40001
-A KUBE-PORTALS-CONTAINER -d 172.22.2.10/32 -p tcp -m comment --comment "ns/web" -m tcp --dport 80 -j REDIRECT --to-ports 40001
-A KUBE-PORTALS-HOST -d 172.22.2.10/32 -p tcp -m comment --comment "ns/web" -m tcp --dport 80 -j DNAT --to-destination 172.22.1.1:40001
-A KUBE-NODEPORT-CONTAINER -p tcp -m comment --comment "ns/web" -m tcp --dport 30080 -j REDIRECT --to-ports 40001
-A KUBE-NODEPORT-HOST -p tcp -m comment --comment "ns/web" -m tcp --dport 30080 -j DNAT --to-destination 172.22.1.1:40001
COMMIT
*filter
:KUBE-NODEPORT-NON-LOCAL - [0:0]
:KUBE-PORTALS-REJECT - [0:0]
-A KUBE-NODEPORT-NON-LOCAL -p tcp -m comment --comment "ns/web" -m tcp --dport 40001 -j ACCEPT
COMMIT
`);
  });

  it('rejects a Service port without endpoints instead of steering it anywhere', () => {
    const text = buildPortalRules(
      [{ service: svc({ protocol: 'UDP', portName: 'dns', port: 53, nodePort: 30053 }), proxyPort: 40002, hasEndpoints: false }],
      '172.22.1.1',
    );
    expect(text).not.toContain('REDIRECT');
    expect(text).toContain(
      '-A KUBE-PORTALS-REJECT -d 10.96.0.20/32 -p udp -m comment --comment "ns/web:dns has no endpoints" -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable',
    );
    expect(text).toContain(
      '-A KUBE-PORTALS-REJECT -p udp -m comment --comment "ns/web:dns has no endpoints" -m addrtype --dst-type LOCAL -m udp --dport 30053 -j REJECT',
    );
  });
});

describe('userspace chains and the cleanup', () => {
  const saved = parseIptablesSave(`*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-PORTALS-CONTAINER - [0:0]
:KUBE-NODEPORT-CONTAINER - [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER
-A PREROUTING -j KUBE-SERVICES
-A PREROUTING -m addrtype --dst-type LOCAL -j KUBE-NODEPORT-CONTAINER
-A KUBE-PORTALS-CONTAINER -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 40001
COMMIT
`);

  it("tells the modes' chains apart", () => {
    expect(isUserspaceChain('KUBE-PORTALS-HOST')).toBe(true);
    expect(isUserspaceChain('KUBE-SERVICES')).toBe(false);
    expect(isIptablesModeChain('KUBE-PORTALS-HOST')).toBe(false);
  });

  it('kube-proxy --cleanup removes the portal chains and their jumps too', () => {
    const input = iptablesCleanupInput(saved);
    expect(input).toContain('-D PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER');
    expect(input).toContain('-X KUBE-PORTALS-CONTAINER');
    expect(input).toContain('-X KUBE-NODEPORT-CONTAINER');
    expect(input).toContain('-X KUBE-SERVICES');
  });

  it("one mode's cleanup leaves the other mode's chains alone", () => {
    const input = iptablesCleanupInput(saved, isUserspaceChain);
    expect(input).toContain('-X KUBE-PORTALS-CONTAINER');
    expect(input).not.toContain('KUBE-SERVICES');
  });
});
