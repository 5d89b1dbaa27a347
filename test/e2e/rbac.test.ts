/**
 * RBAC from a client's side, with the real kubectl: what an anonymous user, a
 * wrong token, a pod's default service account and a namespace admin can and
 * cannot do, `kubectl auth can-i` agreeing with what then happens, the
 * escalation checks, impersonation, and the aggregated view role growing
 * with a role labelled into it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, apply, creds, deploymentManifest, k, kubectl, namespace, waitFor, type Run } from './helpers.js';

let ns: string;
let other: string;
let dir: string;
let caFile: string;
let adminToken: string;
let defaultToken: string;

/** kubectl as the holder of a bearer token, and nothing else (no client certificate). */
async function as(token: string, args: string[]): Promise<Run> {
  const r = await execa(
    'kubectl',
    ['--kubeconfig', '/dev/null', '--server', creds().server.toString(), '--certificate-authority', caFile, '--token', token, ...args],
    {
      reject: false,
      timeout: 60_000,
    },
  );
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const canI = async (token: string, ...args: string[]) => (await as(token, ['auth', 'can-i', ...args])).stdout.trim();

beforeAll(async () => {
  ns = await namespace('rbac');
  other = await namespace('rbac-other');
  dir = mkdtempSync(join(tmpdir(), 'kemu-rbac-'));
  caFile = join(dir, 'ca.crt');
  writeFileSync(caFile, creds().ca);
  await waitFor('the default service account', async () => (await kubectl(['get', 'serviceaccount', 'default', '-n', ns])).exitCode === 0, 30_000);
  await k(['create', 'serviceaccount', 'alice', '-n', ns]);
  await k(['create', 'rolebinding', 'alice-admin', '--clusterrole=admin', `--serviceaccount=${ns}:alice`, '-n', ns]);
  adminToken = (await k(['create', 'token', 'alice', '-n', ns])).trim();
  defaultToken = (await k(['create', 'token', 'default', '-n', ns])).trim();
}, 120_000);

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, other, '--wait=false']);
  await kubectl(['delete', 'clusterrole', 'rbac-e2e-aggregated', '--ignore-not-found']);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('authentication', () => {
  it('anonymous: only the health and version endpoints; everything else is 401', async () => {
    for (const path of ['/healthz', '/livez', '/readyz', '/version']) expect((await api('GET', path, undefined, { anonymous: true })).status).toBe(200);
    for (const path of ['/api', '/apis', '/api/v1/namespaces', '/api/v1/namespaces/default/secrets', '/metrics', '/openapi/v2']) {
      const r = await api<{ reason: string; code: number }>('GET', path, undefined, { anonymous: true });
      expect([path, r.status, r.body.reason]).toEqual([path, 401, 'Unauthorized']);
    }
  });

  it('a wrong token is 401, even on the public paths', async () => {
    for (const path of ['/version', '/api/v1/pods']) {
      const r = await api('GET', path, undefined, { anonymous: true, headers: { Authorization: 'Bearer not-a-token' } });
      expect([path, r.status]).toEqual([path, 401]);
    }
    const r = await as('not-a-token', ['get', 'pods']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Unauthorized|must be logged in/);
  });

  it('kubectl auth whoami names the service account and its groups', async () => {
    const out = (await as(defaultToken, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}'])).stdout;
    expect(out).toContain(`system:serviceaccount:${ns}:default`);
    expect(out).toContain(`system:serviceaccounts:${ns}`);
  });
});

describe("a pod's default service account", () => {
  it('may discover the API and review itself, nothing more', async () => {
    expect(await canI(defaultToken, 'create', 'selfsubjectaccessreviews.authorization.k8s.io')).toBe('yes');
    for (const what of [
      ['list', 'pods', '-n', ns],
      ['get', 'secrets', '-n', ns],
      ['list', 'nodes'],
      ['create', 'deployments', '-n', ns],
    ]) {
      expect([what.join(' '), await canI(defaultToken, ...what)]).toEqual([what.join(' '), 'no']);
    }
    const r = await as(defaultToken, ['get', 'secrets', '-n', ns]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:${ns}:default" cannot list resource "secrets" in API group "" in the namespace "${ns}"`,
    );
    expect((await as(defaultToken, ['api-versions'])).exitCode).toBe(0);
  });
});

describe('a namespace admin (the admin ClusterRole bound in one namespace)', () => {
  it('kubectl auth can-i agrees with what then happens', async () => {
    const cases: { verb: string; args: string[]; canI: string[] }[] = [
      { verb: 'create deployment', args: ['create', 'deployment', 'web', '--image=nginx', '-n', ns], canI: ['create', 'deployments.apps', '-n', ns] },
      { verb: 'create secret', args: ['create', 'secret', 'generic', 's', '--from-literal=a=b', '-n', ns], canI: ['create', 'secrets', '-n', ns] },
      { verb: 'create in another namespace', args: ['create', 'configmap', 'c', '-n', other], canI: ['create', 'configmaps', '-n', other] },
      { verb: 'list nodes', args: ['get', 'nodes'], canI: ['list', 'nodes'] },
      { verb: 'create a namespace', args: ['create', 'namespace', `${ns}-x`], canI: ['create', 'namespaces'] },
      { verb: 'delete its namespace', args: ['delete', 'namespace', ns, '--dry-run=server'], canI: ['delete', `namespace/${ns}`] },
    ];
    for (const c of cases) {
      const said = await canI(adminToken, ...c.canI);
      const done = await as(adminToken, c.args);
      expect([c.verb, said, done.exitCode === 0 ? 'yes' : 'no']).toEqual([c.verb, said, said]);
      if (done.exitCode !== 0) expect(done.stderr).toMatch(/is forbidden: User "system:serviceaccount:[^"]+:alice" cannot /);
    }
    expect(await canI(adminToken, 'create', 'deployments.apps', '-n', ns)).toBe('yes');
    expect(await canI(adminToken, 'list', 'nodes')).toBe('no');
  });

  it('kubectl auth can-i --list shows its rules in its namespace', async () => {
    const out = (await as(adminToken, ['auth', 'can-i', '--list', '-n', ns])).stdout;
    expect(out).toMatch(/^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs/);
    expect(out).toMatch(/rolebindings\.rbac\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create delete deletecollection get list patch update watch\]/);
    expect(out).toMatch(/deployments\.apps\s+\[\]\s+\[\]\s+\[create delete deletecollection patch update get list watch\]/);
  });

  it('may grant what it holds, not more (escalation prevention)', async () => {
    const role = (name: string, rules: object[]) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns }, rules });
    const write = async (obj: object) => {
      const file = join(dir, `${Date.now()}-${Math.random()}.json`);
      writeFileSync(file, JSON.stringify(obj));
      return as(adminToken, ['create', '-f', file]);
    };
    expect((await write(role('pod-reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]))).exitCode).toBe(0);
    const escalated = await write(role('node-killer', [{ apiGroups: [''], resources: ['nodes'], verbs: ['delete'] }]));
    expect(escalated.exitCode).toBe(1);
    expect(escalated.stderr).toContain(`roles.rbac.authorization.k8s.io "node-killer" is forbidden: user "system:serviceaccount:${ns}:alice"`);
    expect(escalated.stderr).toContain('is attempting to grant RBAC permissions not currently held:');
    expect(escalated.stderr).toContain('{APIGroups:[""], Resources:["nodes"], Verbs:["delete"]}');
    // Binding edit (which admin covers) works; binding cluster-admin does not.
    expect((await as(adminToken, ['create', 'rolebinding', 'bob-edit', '--clusterrole=edit', '--user=bob', '-n', ns])).exitCode).toBe(0);
    const bound = await as(adminToken, ['create', 'rolebinding', 'bob-root', '--clusterrole=cluster-admin', '--user=bob', '-n', ns]);
    expect(bound.exitCode).toBe(1);
    expect(bound.stderr).toContain('is attempting to grant RBAC permissions not currently held');
  });

  it('may not bind a ClusterRole that does not exist (no empty grant); the cluster admin may', async () => {
    // kube-apiserver resolves the role of a binding its author may not `bind`, and answers that resolution's NotFound.
    const missing = await as(adminToken, ['create', 'rolebinding', 'bob-ghost', '--clusterrole=rbac-e2e-ghost', '--user=bob', '-n', ns]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('failed to create rolebinding: clusterroles.rbac.authorization.k8s.io "rbac-e2e-ghost" not found');
    expect((await kubectl(['get', 'rolebinding', 'bob-ghost', '-n', ns])).exitCode).not.toBe(0);
    expect((await kubectl(['create', 'rolebinding', 'bob-ghost', '--clusterrole=rbac-e2e-ghost', '--user=bob', '-n', ns])).exitCode).toBe(0);
  });
});

describe('impersonation', () => {
  it('the cluster admin may act as anyone; a namespace admin only as its namespace service accounts', async () => {
    expect((await k(['auth', 'can-i', 'create', 'deployments', '-n', ns, `--as=system:serviceaccount:${ns}:alice`])).trim()).toBe('yes');
    expect((await kubectl(['auth', 'can-i', 'create', 'deployments', '-n', other, `--as=system:serviceaccount:${ns}:alice`])).stdout.trim()).toBe('no');
    const r = await as(adminToken, ['get', 'pods', '-n', ns, '--as=bob']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `users "bob" is forbidden: User "system:serviceaccount:${ns}:alice" cannot impersonate resource "users" in API group "" at the cluster scope`,
    );
    // admin grants impersonating service accounts in its namespace.
    expect((await as(adminToken, ['get', 'pods', '-n', ns, `--as=system:serviceaccount:${ns}:default`])).stderr).toContain(
      `User "system:serviceaccount:${ns}:default" cannot list resource "pods"`,
    );
  });
});

describe('the default roles', () => {
  it('are there, labelled, and view grows with a ClusterRole aggregated into it', async () => {
    const names = (await k(['get', 'clusterroles', '-l', 'kubernetes.io/bootstrapping=rbac-defaults', '-o', 'name'])).split('\n');
    for (const n of [
      'cluster-admin',
      'admin',
      'edit',
      'view',
      'system:basic-user',
      'system:discovery',
      'system:public-info-viewer',
      'system:node-proxier',
      'system:kube-scheduler',
    ]) {
      expect(names).toContain(`clusterrole.rbac.authorization.k8s.io/${n}`);
    }
    await apply(ns, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'rbac-e2e-aggregated', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
      rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get', 'list'] }],
    });
    await waitFor('view to aggregate the new rule', async () => (await k(['get', 'clusterrole', 'view', '-o', 'json'])).includes('widgets'), 30_000);
    // edit and admin aggregate view, so they gather it too.
    await waitFor('admin to gather it through edit', async () => (await k(['get', 'clusterrole', 'admin', '-o', 'json'])).includes('widgets'), 30_000);
    await k(['delete', 'clusterrole', 'rbac-e2e-aggregated']);
    await waitFor('view to lose it', async () => !(await k(['get', 'clusterrole', 'view', '-o', 'json'])).includes('widgets'), 30_000);
  });

  it('the controller-manager holds only system:kube-controller-manager; its controllers write as their own service accounts', async () => {
    const manager = ['--as=system:kube-controller-manager'];
    const rules = (await k(['auth', 'can-i', '--list', ...manager])).split('\n').map((l) => l.trim().split(/\s+/));
    // It lists and watches everything (the shared informers), and may do nothing else to everything.
    expect(rules).toContainEqual(['*.*', '[]', '[]', '[list', 'watch]']);
    expect(rules.filter((r) => r[0] === '*.*' && r.at(-1) === '[*]')).toEqual([]);
    // Not in system:masters: it may not write pods itself.
    expect((await kubectl(['auth', 'can-i', 'create', 'pods', '-n', ns, ...manager])).stdout.trim()).toBe('no');
    const accounts = (await k(['get', 'serviceaccounts', '-n', 'kube-system', '-o', 'name'])).split('\n');
    for (const sa of ['deployment-controller', 'replicaset-controller', 'generic-garbage-collector', 'node-controller', 'endpointslice-controller']) {
      expect(accounts).toContain(`serviceaccount/${sa}`);
      const binding = await k([
        'get',
        'clusterrolebinding',
        `system:controller:${sa}`,
        '-o',
        'jsonpath={.roleRef.name} {.subjects[0].kind} {.subjects[0].namespace}/{.subjects[0].name}',
      ]);
      expect(binding).toBe(`system:controller:${sa} ServiceAccount kube-system/${sa}`);
    }
    const replicaSets = `system:serviceaccount:kube-system:replicaset-controller`;
    expect((await kubectl(['auth', 'can-i', 'create', 'pods', '-n', ns, `--as=${replicaSets}`])).stdout.trim()).toBe('yes');
    expect((await kubectl(['auth', 'can-i', 'create', 'deployments', '-n', ns, `--as=${replicaSets}`])).stdout.trim()).toBe('no');
    // The ReplicaSet's pods can only have been made by replicaset-controller, the ReplicaSet by deployment-controller.
    await apply(ns, deploymentManifest('rolls-out', 2, { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] }));
    await k(['rollout', 'status', 'deployment/rolls-out', '-n', ns, '--timeout=90s'], { timeout: 100_000 });
    expect(await k(['get', 'deployment', 'rolls-out', '-n', ns, '-o', 'jsonpath={.status.availableReplicas}'])).toBe('2');
  }, 150_000);
});
