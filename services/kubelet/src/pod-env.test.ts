import { describe, expect, it } from 'vitest';
import { etcHosts, expand, podHostname, resolvConf, serviceEnv } from './pod-env.js';

const svc = (name: string, ns: string, clusterIP: string, ports: object[], type = 'ClusterIP') => ({
  metadata: { name, namespace: ns },
  spec: { clusterIP, ports, type },
});

describe('service environment variables', () => {
  const services = [
    svc('kubernetes', 'default', '10.96.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]),
    svc('my-nginx', 'web', '10.96.12.7', [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ]),
    svc('headless', 'web', 'None', [{ port: 80 }]),
    svc('other-ns', 'elsewhere', '10.96.1.1', [{ port: 80 }]),
  ];
  it('writes the variables Kubernetes writes', () => {
    const env = serviceEnv(services as never, 'web', true);
    expect(env).toMatchObject({
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
      KUBERNETES_PORT: 'tcp://10.96.0.1:443',
      KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
      MY_NGINX_SERVICE_HOST: '10.96.12.7',
      MY_NGINX_SERVICE_PORT: '80',
      MY_NGINX_SERVICE_PORT_HTTP: '80',
      MY_NGINX_SERVICE_PORT_DNS: '53',
      MY_NGINX_PORT: 'tcp://10.96.12.7:80',
      MY_NGINX_PORT_80_TCP: 'tcp://10.96.12.7:80',
      MY_NGINX_PORT_80_TCP_PROTO: 'tcp',
      MY_NGINX_PORT_80_TCP_PORT: '80',
      MY_NGINX_PORT_53_UDP: 'udp://10.96.12.7:53',
    });
    expect(Object.keys(env).some((k) => k.startsWith('HEADLESS') || k.startsWith('OTHER_NS'))).toBe(false);
  });
  it('keeps only kubernetes without service links', () => {
    expect(Object.keys(serviceEnv(services as never, 'web', false)).every((k) => k.startsWith('KUBERNETES_'))).toBe(true);
  });
});

describe('$(VAR) expansion', () => {
  it.each([
    ['$(A)-x', 'a-x'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(A)', '$(A)'],
    ['cost $$5', 'cost $5'],
    ['$(A', '$(A'],
  ])('%s', (text, want) => expect(expand(text, { A: 'a' })).toBe(want));
});

describe('resolver files', () => {
  const pod = (spec: object = {}) => ({ metadata: { name: 'p', namespace: 'web' }, spec });
  it('ClusterFirst', () => {
    expect(resolvConf(pod() as never, { dnsIP: '10.96.0.10', nodeResolvConf: 'nameserver 1.1.1.1\n' })).toBe(
      'nameserver 10.96.0.10\nsearch web.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    );
  });
  it('None with dnsConfig', () => {
    const out = resolvConf(
      pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['9.9.9.9'], searches: ['x.test'], options: [{ name: 'ndots', value: '2' }] } }) as never,
      { dnsIP: '10.96.0.10', nodeResolvConf: '' },
    );
    expect(out).toBe('nameserver 9.9.9.9\nsearch x.test\noptions ndots:2\n');
  });
  it('Default takes the node resolver', () => {
    expect(resolvConf(pod({ dnsPolicy: 'Default' }) as never, { dnsIP: '10.96.0.10', nodeResolvConf: 'nameserver 192.0.2.53\nsearch lan\n' })).toBe(
      'nameserver 192.0.2.53\nsearch lan\n',
    );
  });
  it('/etc/hosts with hostname, subdomain and aliases', () => {
    const out = etcHosts(pod({ hostname: 'h', subdomain: 's', hostAliases: [{ ip: '10.1.1.1', hostnames: ['a', 'b'] }] }) as never, '10.244.1.5');
    expect(out).toContain('10.244.1.5\th.s.web.svc.cluster.local\th\n');
    expect(out).toContain('# Entries added by HostAliases.\n10.1.1.1\ta\tb\n');
    expect(etcHosts(pod() as never, '10.244.1.6')).toContain('10.244.1.6\tp\n');
  });
});

describe('the pod’s hostname', () => {
  const pod = (name: string, hostname?: string) => ({ metadata: { name, namespace: 'ns' }, spec: { hostname, containers: [] } }) as never;
  it.each([
    ['the pod’s name', pod('web-0'), 'web-0'],
    ['spec.hostname over the name', pod('web-0', 'myhost'), 'myhost'],
    ['a long name cut to 63 characters', pod('a'.repeat(70)), 'a'.repeat(63)],
    ['without the trailing - or . the cut leaves', pod(`${'a'.repeat(61)}.-b`), 'a'.repeat(61)],
  ])('is %s', (_what, p, want) => {
    expect(podHostname(p)).toBe(want);
    expect(etcHosts(p, '10.244.1.5').trim().split('\n').pop()).toBe(`10.244.1.5\t${want}`);
  });
});
