/**
 * LoadBalancer Services without a cloud, with the real kubectl: the
 * controller-manager gives each an EXTERNAL-IP from the default pool (the
 * top /24 of the node network, `<subnet>.255.1`–`.254`), honours a requested
 * address, says why it cannot meet one, and takes the address back when the
 * Service stops being a LoadBalancer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctx, k, kubectl, namespace, waitFor } from './helpers.js';

let ns: string;
beforeAll(async () => {
  ns = await namespace('lb');
});
afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

/** The EXTERNAL-IP column of `kubectl get svc`. */
const externalIP = async (name: string): Promise<string> => (await k(['get', 'svc', name, '-n', ns, '--no-headers'])).trim().split(/\s+/)[3];
const pool = () => new RegExp(`^${ctx().subnet.replace('.', '\\.')}\\.255\\.([1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-4])$`);

describe('LoadBalancer Services', () => {
  it('kubectl create service loadbalancer gets an EXTERNAL-IP from the top of the node network, with an IPAllocated event', async () => {
    await k(['create', 'service', 'loadbalancer', 'web', '--tcp=80:80', '-n', ns]);
    const ip = await waitFor('an EXTERNAL-IP', async () => {
      const v = await externalIP('web');
      return v !== '<pending>' && v;
    });
    expect(ip).toMatch(pool());
    const ingress = JSON.parse(await k(['get', 'svc', 'web', '-n', ns, '-o', 'jsonpath={.status.loadBalancer.ingress}'])) as unknown;
    expect(ingress).toEqual([{ ip, ipMode: 'VIP' }]);
    await waitFor('IPAllocated event', async () => (await k(['describe', 'svc', 'web', '-n', ns])).includes(`Assigned IP ["${ip}"]`));
  });

  it('spec.loadBalancerIP is honoured in the pool; outside it the Service stays <pending> with AllocationFailed', async () => {
    const wanted = `${ctx().subnet}.255.200`;
    const manifest = (name: string, ip: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {type: LoadBalancer, loadBalancerIP: "${ip}", ports: [{port: 80}], selector: {app: ${name}}}
`;
    await k(['apply', '-n', ns, '-f', '-'], { input: manifest('asked', wanted) + '---\n' + manifest('outside', '192.0.2.10') });
    await waitFor('the requested address', async () => (await externalIP('asked')) === wanted);
    await waitFor('AllocationFailed', async () =>
      (await k(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=outside', '-o', 'jsonpath={.items[*].message}'])).includes(
        'Failed to allocate IP for "' + ns + '/outside": "192.0.2.10" is not allowed in config',
      ),
    );
    expect(await externalIP('outside')).toBe('<pending>');
  });

  it('a Service changed to ClusterIP loses its EXTERNAL-IP', async () => {
    await k(['create', 'service', 'loadbalancer', 'flip', '--tcp=81:81', '-n', ns]);
    await waitFor('an EXTERNAL-IP', async () => pool().test(await externalIP('flip')));
    // The fields only a LoadBalancer may have go with the type (Kubernetes' api-server drops them itself when unchanged).
    const patch = [
      { op: 'replace', path: '/spec/type', value: 'ClusterIP' },
      { op: 'remove', path: '/spec/ports/0/nodePort' },
      { op: 'remove', path: '/spec/externalTrafficPolicy' },
    ];
    await k(['patch', 'svc', 'flip', '-n', ns, '--type=json', '-p', JSON.stringify(patch)]);
    await waitFor('no EXTERNAL-IP', async () => (await externalIP('flip')) === '<none>');
    expect(await k(['get', 'svc', 'flip', '-n', ns, '-o', 'jsonpath={.status.loadBalancer}'])).toBe('{}');
  });
});
