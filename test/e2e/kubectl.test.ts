/** The real kubectl against a cluster from `kemu up`: the everyday commands. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment, ReplicaSetList } from 'kubernetes-types/apps/v1.js';
import type { ConfigMap, Service } from 'kubernetes-types/core/v1.js';
import { ctx, k, kubectl, namespace, parseJson, waitFor } from './helpers.js';

let ns: string;
beforeAll(async () => {
  ns = await namespace('kubectl');
});
// Its objects would outlive it otherwise: legacy-ing is a catch-all Ingress without a class, which the ingress add-on
// would go on serving every unmatched host from (the ingress suites then see its backend instead of the 404 server).
afterAll(async () => {
  if (ns) await k(['delete', 'namespace', ns, '--wait=false']);
});

const MANIFESTS = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, labels: {tier: config}}
data: {color: blue}
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: legacy-ing}
spec:
  backend: {serviceName: web, servicePort: 80}
---
apiVersion: apps/v1beta1
kind: Deployment
metadata: {name: legacy-deploy}
spec:
  replicas: 1
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: c, image: busybox}]
---
apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: legacy-ext}
spec:
  template:
    metadata: {labels: {app: legacy-ext}}
    spec:
      containers: [{name: c, image: busybox}]
`;

describe('kubectl', () => {
  it('applies multi-document YAML, old group/versions included, and re-applies as unchanged', async () => {
    const out = await k(['apply', '-n', ns, '-f', '-'], { input: MANIFESTS });
    expect(out).toContain('deployment.apps/web created');
    expect(out).toContain('configmap/settings created');
    expect(out).toContain('ingress.extensions/legacy-ing created');
    expect(out).toContain('deployment.apps/legacy-deploy created');
    const again = await k(['apply', '-n', ns, '-f', '-'], { input: MANIFESTS });
    expect(again).toContain('deployment.apps/web unchanged');
    expect(again).toContain('configmap/settings unchanged');
    // The old versions are stored as the current ones, selector defaulted from the template.
    expect(await k(['get', '-n', ns, 'deploy', 'legacy-deploy', '-o', 'jsonpath={.apiVersion} {.spec.selector.matchLabels.app}'])).toBe('apps/v1 legacy');
    expect(
      await k(['get', '-n', ns, 'ingress', 'legacy-ing', '-o', 'jsonpath={.spec.defaultBackend.service.name}:{.spec.defaultBackend.service.port.number}']),
    ).toBe('web:80');
  });

  it('gets with the real columns, -o wide/yaml/json/jsonpath, -l and -A', async () => {
    const table = await k(['get', '-n', ns, 'deployments']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    expect(table).toMatch(/\nweb\s+\d\/2\s+\d\s+\d\s+\d+s/);
    const wide = await k(['get', '-n', ns, 'deploy', 'web', '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/CONTAINERS\s+IMAGES\s+SELECTOR/);
    expect(wide).toMatch(/nginx\s+nginx:1\.25\s+app=web/);
    const yaml = await k(['get', '-n', ns, 'cm', 'settings', '-o', 'yaml']);
    expect(yaml).toContain('color: blue');
    expect(yaml).toMatch(/resourceVersion: "\d+"/);
    const json = parseJson<{ kind: string; items: ConfigMap[] }>(await k(['get', '-n', ns, 'cm', '-l', 'tier=config', '-o', 'json']));
    expect(json.kind).toBe('List');
    expect(json.items.map((i) => i.metadata?.name)).toEqual(['settings']);
    expect(await k(['get', '-n', ns, 'cm', '-l', 'tier!=config', '-o', 'name'])).not.toContain('settings');
    const all = await k(['get', 'svc', '-A']);
    expect(all).toMatch(/default\s+kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP/);
    const nsList = await k(['get', 'ns']);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease', ns]) expect(nsList).toMatch(new RegExp(`\\n${n}\\s+Active`));
  });

  it('describes a deployment', async () => {
    const out = await k(['describe', '-n', ns, 'deployment', 'web']);
    expect(out).toMatch(/Name:\s+web/);
    expect(out).toMatch(/Replicas:\s+2 desired/);
    expect(out).toMatch(/RollingUpdateStrategy:\s+25% max unavailable, 25% max surge/);
    expect(out).toMatch(/Image:\s+nginx:1\.25/);
  });

  it('labels, annotates and patches with all three patch types', async () => {
    await k(['label', '-n', ns, 'cm', 'settings', 'team=blue']);
    await k(['annotate', '-n', ns, 'cm', 'settings', 'owner=me']);
    await k(['patch', '-n', ns, 'deploy', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}']);
    await k(['patch', '-n', ns, 'cm', 'settings', '--type=merge', '-p', '{"data":{"size":"L"}}']);
    await k(['patch', '-n', ns, 'cm', 'settings', '--type=json', '-p', '[{"op":"replace","path":"/data/color","value":"red"}]']);
    const cm = parseJson<ConfigMap>(await k(['get', '-n', ns, 'cm', 'settings', '-o', 'json']));
    expect(cm.metadata?.labels).toMatchObject({ team: 'blue', tier: 'config' });
    expect(cm.metadata?.annotations?.owner).toBe('me');
    expect(cm.data).toEqual({ color: 'red', size: 'L' });
    const d = parseJson<Deployment>(await k(['get', '-n', ns, 'deploy', 'web', '-o', 'json']));
    expect(d.spec?.template.spec?.containers).toHaveLength(1);
    expect(d.spec?.template.spec?.containers[0]).toMatchObject({ name: 'nginx', image: 'nginx:1.26', ports: [{ containerPort: 80, protocol: 'TCP' }] });
    expect(d.metadata?.generation).toBe(2);
  });

  it('edits with $EDITOR', async () => {
    const dir = mkdtempSync('/tmp/kemu-editor-');
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s/color: red/color: green/" "$1"\n');
    chmodSync(editor, 0o755);
    const out = await k(['edit', '-n', ns, 'cm', 'settings'], { env: { EDITOR: editor, KUBE_EDITOR: editor } }).finally(() =>
      rmSync(dir, { recursive: true, force: true }),
    );
    expect(out).toContain('configmap/settings edited');
    expect(await k(['get', '-n', ns, 'cm', 'settings', '-o', 'jsonpath={.data.color}'])).toBe('green');
  });

  it('scales and exposes', async () => {
    expect(await k(['scale', '-n', ns, 'deploy', 'web', '--replicas=5'])).toContain('deployment.apps/web scaled');
    expect(await k(['get', '-n', ns, 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).toBe('5');
    expect(await k(['expose', '-n', ns, 'deploy', 'web', '--port=80', '--type=NodePort'])).toContain('service/web exposed');
    const svc = parseJson<Service>(await k(['get', '-n', ns, 'svc', 'web', '-o', 'json']));
    expect(svc.spec?.selector).toEqual({ app: 'web' });
    expect(svc.spec?.clusterIP).toMatch(/^10\.(9[6-9]|10\d|11[01])\./);
    expect(svc.spec?.ports?.[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect(svc.spec?.ports?.[0].nodePort).toBeLessThanOrEqual(32767);
    const row = await k(['get', '-n', ns, 'svc', 'web']);
    expect(row).toMatch(new RegExp(`web\\s+NodePort\\s+${svc.spec?.clusterIP?.replace(/\./g, '\\.')}\\s+<none>\\s+80:${svc.spec?.ports?.[0].nodePort}/TCP`));
  });

  it('creates namespaces, configmaps and secrets (generic and tls)', async () => {
    const extra = `kubectl-x-${Math.random().toString(36).slice(2, 6)}`;
    expect(await k(['create', 'namespace', extra])).toContain(`namespace/${extra} created`);
    expect(await k(['create', 'configmap', 'cm2', '-n', ns, '--from-literal=a=1', '--from-literal=b=2'])).toContain('configmap/cm2 created');
    expect(await k(['create', 'secret', 'generic', 's1', '-n', ns, '--from-literal=password=hunter2'])).toContain('secret/s1 created');
    expect(await k(['create', 'secret', 'tls', 't1', '-n', ns, `--cert=${ctx().state}/pki/apiserver.crt`, `--key=${ctx().state}/pki/apiserver.key`])).toContain(
      'secret/t1 created',
    );
    expect(Buffer.from(await k(['get', '-n', ns, 'secret', 's1', '-o', 'jsonpath={.data.password}']), 'base64').toString()).toBe('hunter2');
    expect(await k(['get', '-n', ns, 'secrets'])).toMatch(/t1\s+kubernetes\.io\/tls\s+2/);
    expect(await k(['get', '-n', ns, 'cm', 'cm2', '-o', 'jsonpath={.data}'])).toBe('{"a":"1","b":"2"}');
  });

  it('lists api-resources with short names and explains fields', async () => {
    const res = await k(['api-resources']);
    expect(res).toMatch(/\npods\s+po\s+v1\s+true\s+Pod/);
    expect(res).toMatch(/\ndeployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    expect(res).toMatch(/\nnamespaces\s+ns\s+v1\s+false\s+Namespace/);
    const pods = await waitFor('pods of the deployments', async () => {
      const out = await k(['get', 'po', '-n', ns]);
      return /\n\S+\s+\d\/1\s+\w+/.test(out) && out;
    });
    expect(pods.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    const ex = await k(['explain', 'pods.spec.containers.image']);
    expect(ex).toContain('FIELD: image <string>');
    expect(ex).toContain('Container image name.');
  });

  it('watches with get -w', async () => {
    const proc = execa('kubectl', ['--kubeconfig', ctx().kubeconfig, 'get', 'cm', '-n', ns, '-w', '--output-watch-events'], { reject: false });
    let seen = '';
    proc.stdout?.on('data', (d) => (seen += d));
    await waitFor('the initial list', () => seen.includes('settings'));
    await k(['create', 'cm', 'watched', '-n', ns]);
    await waitFor('ADDED watched', () => /ADDED\s+watched/.test(seen));
    await k(['delete', 'cm', 'watched', '-n', ns]);
    await waitFor('DELETED watched', () => /DELETED\s+watched/.test(seen));
    proc.kill();
    await proc;
  });

  it('deletes, with --cascade=background and by label', async () => {
    expect(await k(['delete', '-n', ns, 'deploy', 'legacy-deploy', '--cascade=background'])).toContain('deployment.apps "legacy-deploy" deleted');
    expect((await kubectl(['get', '-n', ns, 'deploy', 'legacy-deploy'])).stderr).toContain('deployments.apps "legacy-deploy" not found');
    const out = await k(['delete', '-n', ns, 'cm', '-l', 'tier=config']);
    expect(out).toContain('configmap "settings" deleted');
    // Orphan: the Deployment goes, its ReplicaSet stays without an owner. Foreground: dependents first, then the owner.
    await waitFor('legacy-ext replicaset', async () => (await k(['get', 'rs', '-n', ns, '-l', 'app=legacy-ext', '-o', 'name'])) !== '');
    await k(['delete', '-n', ns, 'deploy', 'legacy-ext', '--cascade=orphan']);
    const orphaned = parseJson<ReplicaSetList>(await k(['get', 'rs', '-n', ns, '-l', 'app=legacy-ext', '-o', 'json'])).items;
    expect(orphaned).toHaveLength(1);
    expect(orphaned[0].metadata?.ownerReferences).toBeUndefined();
    await k(['delete', '-n', ns, 'deploy', 'web', '--cascade=foreground', '--timeout=60s']);
    expect(await k(['get', 'rs', '-n', ns, '-l', 'app=web', '-o', 'name'])).toBe('');
  });

  it('says what is wrong, in Kubernetes words', async () => {
    const nf = await kubectl(['get', '-n', ns, 'deploy', 'nope']);
    expect(nf.exitCode).not.toBe(0);
    expect(nf.stderr).toContain('Error from server (NotFound): deployments.apps "nope" not found');
    const dup = await kubectl(['create', 'cm', 'cm2', '-n', ns]);
    expect(dup.stderr).toContain('configmaps "cm2" already exists');
    const bad = await kubectl(['apply', '-n', ns, '-f', '-'], {
      input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec:\n  containers: [{name: c}]\n',
    });
    expect(bad.stderr).toContain('The Pod "Bad_Name" is invalid');
    expect(bad.stderr).toContain('spec.containers[0].image: Required value');
    const unknown = await kubectl(['apply', '-n', ns, '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: strict}\nfoo: bar\n' });
    expect(unknown.stderr).toContain('strict decoding error: unknown field "foo"');
    const noNs = await kubectl(['create', 'cm', 'x', '-n', 'does-not-exist']);
    expect(noNs.stderr).toContain('namespaces "does-not-exist" not found');
  });
});
