/**
 * Nodes under their own identities, from a client's side with the real
 * kubectl: each kubelet got its certificate by TLS bootstrapping (a
 * CertificateSigningRequest per node, approved and issued by the
 * controller-manager), and with it is system:node:<name>, which the Node
 * authorizer and NodeRestriction hold to its own objects — one node's
 * credential against another node's Node, Lease and pods, and against
 * Secrets its pods do not use.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, creds, k, kubectl, namespace, podManifest, stateFile, waitFor, type Run } from './helpers.js';

let ns: string;
let dir: string;

/** kubectl as whoever a client certificate names, with nothing else (no kubeconfig). */
async function withCert(cert: string, key: string, args: string[], input?: string): Promise<Run> {
  const r = await execa(
    'kubectl',
    [
      '--kubeconfig',
      '/dev/null',
      '--server',
      creds().server.toString(),
      '--certificate-authority',
      stateFile('pki', 'ca.crt'),
      '--client-certificate',
      cert,
      '--client-key',
      key,
      ...args,
    ],
    { reject: false, timeout: 60_000, input },
  );
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** kubectl with node-N's own client certificate and key (kubelet-client-current.pem holds both). */
function asNode(node: string, args: string[], input?: string): Promise<Run> {
  const pem = stateFile('nodes', node, 'pki', 'kubelet-client-current.pem');
  return withCert(pem, pem, args, input);
}

beforeAll(async () => {
  ns = await namespace('node-id');
  dir = mkdtempSync(join(tmpdir(), 'kemu-node-id-'));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('node identities (TLS bootstrapping, Node authorizer, NodeRestriction)', () => {
  it('every node got its own certificate through an approved and issued CertificateSigningRequest', async () => {
    expect(existsSync(stateFile('nodes', 'node-1', 'pki', 'kubelet-client-current.pem'))).toBe(true);
    const csrs = await k(['get', 'csr']);
    expect(csrs.split('\n')[0]).toMatch(/^NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION$/);
    expect(csrs).toMatch(/kubernetes\.io\/kube-apiserver-client-kubelet\s+system:bootstrap:[a-z0-9]{6}\s+<none>\s+Approved,Issued/);
    const who = await asNode('node-1', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}']);
    expect(who.stdout).toBe('system:node:node-1 ["system:nodes","system:authenticated"]');
    // The bootstrap token's Secret, as kubeadm keeps it.
    expect(await k(['get', 'secrets', '-n', 'kube-system', '-o', 'jsonpath={.items[?(@.type=="bootstrap.kubernetes.io/token")].metadata.name}'])).toMatch(
      /^bootstrap-token-[a-z0-9]{6}$/,
    );
  });

  it("one node's credential cannot touch another node's Node or Lease", async () => {
    const other = await asNode('node-1', ['label', 'node', 'node-2', 'kemu.test/x=y']);
    expect(other.exitCode).not.toBe(0);
    expect(other.stderr).toContain('nodes "node-2" is forbidden: node "node-1" is not allowed to modify node "node-2"');
    const own = await asNode('node-1', ['annotate', 'node', 'node-1', 'kemu.test/x=y', '--overwrite']);
    expect(own.exitCode, own.stderr).toBe(0);
    await k(['annotate', 'node', 'node-1', 'kemu.test/x-']);
    const lease = await asNode('node-1', ['annotate', 'lease', 'node-2', '-n', 'kube-node-lease', 'kemu.test/x=y']);
    expect(lease.stderr).toContain('can only access node lease with the same name as the requesting node');
    const taint = await asNode('node-1', ['taint', 'node', 'node-1', 'kemu.test/t=1:NoSchedule']);
    expect(taint.stderr).toContain('node "node-1" is not allowed to modify taints');
  });

  it('reads only the Secrets of its own pods, and deletes only its own pods', async () => {
    await k(['create', 'secret', 'generic', 'used', '-n', ns, '--from-literal=a=b']);
    await k(['create', 'secret', 'generic', 'unused', '-n', ns, '--from-literal=a=b']);
    await apply(
      ns,
      podManifest(
        'user',
        [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'used', key: 'a' } } }] }],
        {
          nodeName: 'node-1',
          terminationGracePeriodSeconds: 0,
        },
      ),
    );
    await waitFor('node-1 may read the Secret its pod uses', async () => (await asNode('node-1', ['get', 'secret', 'used', '-n', ns])).exitCode === 0, 30_000);
    const unused = await asNode('node-1', ['get', 'secret', 'unused', '-n', ns]);
    expect(unused.stderr).toContain(
      `secrets "unused" is forbidden: User "system:node:node-1" cannot get resource "secrets" in API group "" in the namespace "${ns}": no relationship found between node 'node-1' and this object`,
    );
    // node-2 runs no pod that uses it.
    expect((await asNode('node-2', ['get', 'secret', 'used', '-n', ns])).exitCode).not.toBe(0);
    expect((await asNode('node-1', ['get', 'secrets', '-n', ns])).stderr).toContain('can only read individual secrets');
    // `kubectl auth can-i` agrees, through the Node authorizer.
    expect((await asNode('node-1', ['auth', 'can-i', 'get', 'secret/used', '-n', ns])).stdout.trim()).toBe('yes');
    // kubectl prints the Node authorizer's reason after the answer, as it does against kube-apiserver.
    expect((await asNode('node-1', ['auth', 'can-i', 'get', 'secret/unused', '-n', ns])).stdout.trim()).toBe(
      "no - no relationship found between node 'node-1' and this object",
    );
    const del = await asNode('node-2', ['delete', 'pod', 'user', '-n', ns, '--dry-run=server']);
    expect(del.stderr).toContain('node "node-2" can only delete pods with spec.nodeName set to itself');
    expect((await asNode('node-1', ['delete', 'pod', 'user', '-n', ns, '--dry-run=server'])).exitCode).toBe(0);
    const create = await asNode('node-1', ['run', 'x', '-n', ns, '--image=busybox', '--overrides={"spec":{"nodeName":"node-1"}}']);
    expect(create.stderr).toContain('node "node-1" can only create mirror pods');
  });

  it("issues a user's client certificate: the tutorial's CSR, kubectl certificate approve, then kubectl as that user", async () => {
    const key = join(dir, 'jane.key');
    const req = join(dir, 'jane.csr');
    await execa('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', req, '-subj', '/CN=jane/O=developers']);
    const csr = {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: `jane-${ns}` },
      spec: {
        request: readFileSync(req).toString('base64'),
        signerName: 'kubernetes.io/kube-apiserver-client',
        expirationSeconds: 86400,
        usages: ['client auth'],
      },
    };
    await k(['create', '-f', '-'], { input: JSON.stringify(csr) });
    expect(await k(['get', 'csr', `jane-${ns}`, '--no-headers'])).toMatch(/kubernetes\.io\/kube-apiserver-client\s+kubernetes-admin\s+24h\s+Pending/);
    // kubectl sends the CSR back to its approval subresource as protobuf.
    expect(await k(['certificate', 'approve', `jane-${ns}`])).toContain(`certificatesigningrequest.certificates.k8s.io/jane-${ns} approved`);
    const cert = await waitFor(
      'the certificate is issued',
      async () => (await k(['get', 'csr', `jane-${ns}`, '-o', 'jsonpath={.status.certificate}'])) || undefined,
      30_000,
    );
    const crt = join(dir, 'jane.crt');
    writeFileSync(crt, Buffer.from(cert, 'base64'));
    const who = await withCert(crt, key, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}']);
    expect(who.stdout).toBe('jane ["developers","system:authenticated"]');
    await k(['delete', 'csr', `jane-${ns}`]);
  });

  it('cannot approve its own request or act as the cluster admin', async () => {
    expect((await asNode('node-1', ['auth', 'can-i', 'create', 'deployments'])).stdout.trim()).toBe('no');
    expect((await asNode('node-1', ['auth', 'can-i', 'update', 'certificatesigningrequests/approval'])).stdout.trim()).toBe('no');
    expect((await asNode('node-1', ['auth', 'can-i', 'list', 'pods', '--all-namespaces'])).stdout.trim()).toBe('yes');
  });
});
