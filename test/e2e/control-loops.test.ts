/**
 * The control loops with the real kubectl: Deployments spread over nodes,
 * rolling updates within maxSurge/maxUnavailable, rollback, cascading and
 * namespace deletion, default service accounts, node IPAM, unschedulable
 * pods, and leader failover. Nodes are registered through the API; a test
 * fixture reports their pods Ready (kubelets arrive with the nodes issue).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '@kemu/client';
import type { ReplicaSetList } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { client, registerNodes, startKubelets } from './nodes.js';
import { ctx, k, kemu, kubectl, namespace, parseJson, stateFile, waitFor } from './helpers.js';

let c: ApiClient;
let ns: string;
const NODES = ['node-1', 'node-2', 'node-3'];

beforeAll(async () => {
  c = client();
  // The cluster's own nodes (kemu up --nodes 3): kubelets that run the pods.
  await waitFor('nodes Ready', async () => /node-3\s+Ready/.test(await k(['get', 'nodes'])), 30_000);
  ns = await namespace('loops');
});
afterAll(async () => {
  // Nodes a failed test may have left: with no kubelet, pods placed there would never run nor finish deleting.
  await kubectl(['delete', 'node', 'node-big', 'node-extra', 'node-silent', '--ignore-not-found']);
  // Its 20-odd pods would otherwise be every later file's to reschedule (chaos waits for all workloads to recover).
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  c?.close();
});

// The pods resource lists Pods: typed once here.
const pods = async (namespace: string, selector?: string): Promise<Pod[]> =>
  (await c.list({ version: 'v1', resource: 'pods', namespace }, { labelSelector: selector })).items as Pod[];
const deploy = (name: string, replicas: number, image = 'nginx:1.25', extra: object = {}) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers: [{name: web, image: "${image}"}]
${Object.entries(extra)
  .map(([key, v]) => `  ${key}: ${JSON.stringify(v)}`)
  .join('\n')}
`;

describe('control loops', () => {
  it('has kubelets register their nodes, with leases, as kubectl shows them', async () => {
    // AGE is kubectl's human duration: 95s, then 2m5s, 12m… (how long after the cluster came up this file runs)
    const out = await k(['get', 'nodes', ...NODES, '-o', 'wide']);
    for (const [i, n] of NODES.entries())
      expect(out).toMatch(new RegExp(`${n}\\s+Ready\\s+<none>\\s+[0-9hms]+\\s+v1\\.32\\.0\\s+${ctx().subnet.replace('.', '\\.')}\\.1\\.${i + 1}`));
    expect(await k(['get', 'lease', '-n', 'kube-node-lease', 'node-1', '-o', 'jsonpath={.spec.holderIdentity}'])).toBe('node-1');
    const node = parseJson<Node>(await k(['get', 'node', 'node-1', '-o', 'json']));
    expect(node.status?.capacity).toMatchObject({ cpu: '2', pods: '110' });
    expect(node.status?.conditions?.map((x) => x.type).sort()).toEqual(['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready']);
  });

  it('gives every node a podCIDR and every namespace a default ServiceAccount', async () => {
    const cidrs = await waitFor('podCIDRs', async () => {
      const out = await k(['get', 'nodes', ...NODES, '-o', 'jsonpath={.items[*].spec.podCIDR}']);
      const list = out.split(' ').filter(Boolean);
      return list.length === 3 && list;
    });
    expect(new Set(cidrs).size).toBe(3);
    for (const cidr of cidrs) expect(cidr).toMatch(/^10\.244\.\d+\.0\/24$/);
    await waitFor('default sa', async () => (await kubectl(['get', 'sa', 'default', '-n', ns])).exitCode === 0);
  });

  it('spreads a Deployment of 10 replicas over the nodes', async () => {
    await k(['apply', '-n', ns, '-f', '-'], { input: deploy('spread', 10) });
    const bound = await waitFor('10 bound pods', async () => {
      const ps = (await pods(ns, 'app=spread')).filter((p) => p.spec?.nodeName);
      return ps.length === 10 && ps;
    });
    const perNode = new Map<string, number>();
    for (const p of bound) perNode.set(p.spec?.nodeName ?? '', (perNode.get(p.spec?.nodeName ?? '') ?? 0) + 1);
    expect([...perNode.keys()].sort()).toEqual(NODES);
    for (const n of perNode.values()) expect(n).toBeGreaterThanOrEqual(3);
    for (const p of bound) expect(p.metadata?.name).toMatch(/^spread-[a-z0-9]+-[a-z0-9]{5}$/);
    const status = await k(['rollout', 'status', '-n', ns, 'deployment/spread', '--timeout=60s']);
    expect(status).toContain('deployment "spread" successfully rolled out');
    expect(await k(['get', '-n', ns, 'deploy', 'spread'])).toMatch(/spread\s+10\/10\s+10\s+10/);
  });

  it('rolls out a new image within maxSurge and maxUnavailable, and rolls back', async () => {
    await k(['apply', '-n', ns, '-f', '-'], {
      input: deploy('roll', 4, 'nginx:1.25', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }),
    });
    await k(['rollout', 'status', '-n', ns, 'deployment/roll', '--timeout=60s']);
    let sampling = true;
    let maxPods = 0;
    let minReady = Infinity;
    const sampler = (async () => {
      while (sampling) {
        const ps = (await pods(ns, 'app=roll')).filter((p) => !p.metadata?.deletionTimestamp);
        maxPods = Math.max(maxPods, ps.length);
        minReady = Math.min(minReady, ps.filter((p) => (p.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True')).length);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await k(['set', 'image', '-n', ns, 'deployment/roll', 'web=nginx:1.26']);
    expect(await k(['rollout', 'status', '-n', ns, 'deployment/roll', '--timeout=60s'])).toContain('successfully rolled out');
    sampling = false;
    await sampler;
    expect(maxPods).toBeLessThanOrEqual(5); // replicas + maxSurge
    expect(minReady).toBeGreaterThanOrEqual(3); // replicas - maxUnavailable
    const images = (await pods(ns, 'app=roll')).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.spec?.containers[0].image);
    expect(images).toEqual(Array(4).fill('nginx:1.26'));

    const history = await k(['rollout', 'history', '-n', ns, 'deployment/roll']);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    expect(await k(['rollout', 'undo', '-n', ns, 'deployment/roll'])).toContain('deployment.apps/roll rolled back');
    await k(['rollout', 'status', '-n', ns, 'deployment/roll', '--timeout=60s']);
    await waitFor('old image back', async () => {
      const live = (await pods(ns, 'app=roll')).filter((p) => !p.metadata?.deletionTimestamp);
      return live.length === 4 && live.every((p) => p.spec?.containers[0].image === 'nginx:1.25');
    });
    expect(await k(['get', '-n', ns, 'deploy', 'roll', '-o', 'jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}'])).toBe('3');
  });

  it('pauses, resumes and restarts a rollout', async () => {
    await k(['apply', '-n', ns, '-f', '-'], { input: deploy('pause', 2) });
    await k(['rollout', 'status', '-n', ns, 'deployment/pause', '--timeout=60s']);
    const rsCount = async () => (await k(['get', 'rs', '-n', ns, '-l', 'app=pause', '-o', 'name'])).split('\n').filter(Boolean).length;
    expect(await k(['rollout', 'pause', '-n', ns, 'deployment/pause'])).toContain('deployment.apps/pause paused');
    await k(['set', 'image', '-n', ns, 'deployment/pause', 'web=nginx:1.26']);
    await new Promise((r) => setTimeout(r, 500));
    expect(await rsCount()).toBe(1); // paused: no new ReplicaSet
    expect(await k(['rollout', 'resume', '-n', ns, 'deployment/pause'])).toContain('deployment.apps/pause resumed');
    await k(['rollout', 'status', '-n', ns, 'deployment/pause', '--timeout=60s']);
    expect(await rsCount()).toBe(2);
    expect(await k(['rollout', 'restart', '-n', ns, 'deployment/pause'])).toContain('deployment.apps/pause restarted');
    await k(['rollout', 'status', '-n', ns, 'deployment/pause', '--timeout=60s']);
    expect(await rsCount()).toBe(3);
  });

  it('drains a node: cordons it and evicts its pods, which come back elsewhere', async () => {
    await k(['apply', '-n', ns, '-f', '-'], { input: deploy('drained', 3) });
    await k(['rollout', 'status', '-n', ns, 'deployment/drained', '--timeout=60s']);
    const out = await k(['drain', 'node-3', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s']);
    expect(out).toContain('node/node-3 cordoned');
    expect(out).toContain('node/node-3 drained');
    expect(await k(['get', 'node', 'node-3'])).toMatch(/node-3\s+Ready,SchedulingDisabled/);
    await waitFor('3 pods away from node-3', async () => {
      const live = (await pods(ns, 'app=drained')).filter((p) => !p.metadata?.deletionTimestamp && p.spec?.nodeName);
      return live.length === 3 && live.every((p) => p.spec?.nodeName !== 'node-3');
    });
    expect(await k(['uncordon', 'node-3'])).toContain('node/node-3 uncordoned');
  });

  it('scales a ReplicationController and reports its status', async () => {
    await k(['apply', '-n', ns, '-f', '-'], {
      input:
        'apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec:\n  replicas: 3\n  template:\n    metadata: {labels: {app: rc}}\n    spec:\n      containers: [{name: c, image: nginx}]\n',
    });
    await waitFor('3 ready', async () => (await k(['get', '-n', ns, 'rc', 'rc', '-o', 'jsonpath={.status.readyReplicas}'])) === '3');
    await k(['scale', '-n', ns, 'rc/rc', '--replicas=1']);
    await waitFor('scaled down', async () => (await pods(ns, 'app=rc')).filter((p) => !p.metadata?.deletionTimestamp).length === 1);
    expect(await k(['get', '-n', ns, 'rc', 'rc'])).toMatch(/rc\s+1\s+1\s+1/);
  });

  it('deletes dependents in the background, and orphans them when asked', async () => {
    await k(['apply', '-n', ns, '-f', '-'], { input: deploy('gc', 2) });
    await waitFor('2 pods', async () => (await pods(ns, 'app=gc')).length === 2);
    await k(['delete', '-n', ns, 'deployment', 'gc']);
    await waitFor(
      'replicasets and pods gone',
      async () => (await pods(ns, 'app=gc')).length === 0 && (await k(['get', 'rs', '-n', ns, '-l', 'app=gc', '-o', 'name'])) === '',
    );

    await k(['apply', '-n', ns, '-f', '-'], { input: deploy('orphan', 2) });
    await waitFor('2 pods', async () => (await pods(ns, 'app=orphan')).length === 2);
    await k(['delete', '-n', ns, 'deployment', 'orphan', '--cascade=orphan']);
    const rs = parseJson<ReplicaSetList>(await k(['get', 'rs', '-n', ns, '-l', 'app=orphan', '-o', 'json'])).items;
    expect(rs).toHaveLength(1);
    expect(rs[0].metadata?.ownerReferences).toBeUndefined();
    expect((await pods(ns, 'app=orphan')).length).toBe(2);
  });

  it("explains why a pod fits nowhere, in the scheduler's words", async () => {
    await k([
      'run',
      'huge',
      '-n',
      ns,
      '--image=nginx',
      '--overrides={"spec":{"containers":[{"name":"huge","image":"nginx","resources":{"requests":{"cpu":"100"}}}]}}',
    ]);
    const events = await waitFor('FailedScheduling', async () => {
      const out = await k(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=huge']);
      return out.includes('FailedScheduling') && out;
    });
    expect(events).toMatch(/0\/\d+ nodes are available: \d+ Insufficient cpu\./);
    expect(await k(['get', 'pod', 'huge', '-n', ns])).toMatch(/huge\s+0\/1\s+Pending/);
    expect(await k(['describe', 'pod', 'huge', '-n', ns])).toMatch(/Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/\d+ nodes are available/);
    // A node big enough arrives: the pod is tried again and placed there.
    await registerNodes(c, ['node-big'], { cpu: '128' });
    await waitFor('huge bound to node-big', async () => (await k(['get', 'pod', 'huge', '-n', ns, '-o', 'jsonpath={.spec.nodeName}'])) === 'node-big', 20_000);
    // No kubelet runs node-big: force the deletion, as one would for a node that is gone.
    await k(['delete', 'pod', 'huge', '-n', ns, '--grace-period=0', '--force']);
    await k(['delete', 'node', 'node-big']);
  });

  it('runs a DaemonSet pod on every node, following nodes that come and go', async () => {
    await k(['apply', '-n', ns, '-f', '-'], {
      input:
        'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      containers: [{name: a, image: registry.k8s.io/pause:3.10}]\n',
    });
    const nodesOf = async () =>
      (await pods(ns, 'app=agent'))
        .filter((p) => !p.metadata?.deletionTimestamp)
        .map((p) => p.spec?.nodeName)
        .sort();
    await waitFor('one per node', async () => JSON.stringify(await nodesOf()) === JSON.stringify(NODES));
    await registerNodes(c, ['node-extra']);
    await waitFor('a pod on the new node', async () => (await nodesOf()).includes('node-extra'));
    // node-extra has no kubelet: its pod is scheduled (current, up-to-date) but never ready.
    await waitFor('ds status', async () => /agent\s+4\s+4\s+3\s+4\s+3/.test(await k(['get', 'ds', '-n', ns])));
    await k(['delete', 'node', 'node-extra']);
    await waitFor('its pod gone', async () => JSON.stringify(await nodesOf()) === JSON.stringify(NODES));
  });

  it('deletes a namespace and everything in it', async () => {
    const doomed = await namespace('doomed');
    await k(['apply', '-n', doomed, '-f', '-'], { input: deploy('inside', 2) });
    await k(['create', 'cm', 'x', '-n', doomed]);
    await waitFor('2 pods', async () => (await pods(doomed)).length === 2);
    expect(await k(['delete', 'namespace', doomed, '--timeout=60s'])).toContain(`namespace "${doomed}" deleted`);
    expect((await kubectl(['get', 'namespace', doomed])).stderr).toContain('not found');
    expect(await pods(doomed)).toEqual([]);
  });

  it("shows each controller's work queue at /metrics, as client-go does", async () => {
    // Either replica may lead (one that lost its Lease to a restarted api-server, or to chaos, stands by): the leader's.
    const scrape = (replica: string) => {
      try {
        return kemu('exec', replica, '--', 'curl', '-s', 'http://127.0.0.1:10257/metrics');
      } catch {
        return ''; // a replica that is down
      }
    };
    const LEADS = 'leader_election_master_status{name="kube-controller-manager"} 1';
    let metrics = '';
    await waitFor('a replica that leads', () => {
      metrics = ['controller-manager', 'controller-manager-2'].map(scrape).find((m) => m.includes(LEADS)) ?? '';
      return metrics !== '';
    });
    expect(Number(/^workqueue_adds_total\{name="deployment"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    for (const m of ['workqueue_depth', 'workqueue_retries_total', 'workqueue_longest_running_processor_seconds'])
      expect(metrics).toContain(`${m}{name="garbagecollector"}`);
  });

  it('marks a node whose kubelet went silent NotReady, taints it unreachable and evicts what does not tolerate it', async () => {
    const boundPod = (name: string, tolerations: object[]) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: { nodeName: 'node-silent', tolerations, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
      }) + '\n';
    const podOf = async (name: string) => (await c.get({ version: 'v1', resource: 'pods', namespace: ns }, name)) as Pod;
    const silent = startKubelets(['node-silent']);
    try {
      await waitFor('node-silent Ready', async () => /node-silent\s+Ready/.test(await k(['get', 'nodes'])), 30_000);
      // A kubelet renews its Lease before it first says Ready: killed at any moment after, its node is watched.
      expect(await k(['get', 'lease', '-n', 'kube-node-lease', 'node-silent', '-o', 'jsonpath={.spec.holderIdentity}'])).toBe('node-silent');
      // A NoExecute taint evicts the pods that do not tolerate it, at once.
      for (const input of [boundPod('plain', []), boundPod('patient', [{ operator: 'Exists' }])]) await k(['apply', '-n', ns, '-f', '-'], { input });
      await k(['taint', 'node', 'node-silent', 'example.com/maintenance=now:NoExecute']);
      await waitFor('plain evicted', async () => !!(await podOf('plain')).metadata?.deletionTimestamp);
      const plain = await podOf('plain');
      expect(plain.status?.conditions).toContainEqual(expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager' }));
      expect(await k(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=plain'])).toMatch(
        new RegExp(`TaintManagerEviction\\s+pod/plain\\s+Marking for deletion Pod ${ns}/plain`),
      );
      await k(['taint', 'node', 'node-silent', 'example.com/maintenance-']);
      // Unreachable: tolerated for tolerationSeconds (300 s unless the pod says otherwise), then evicted.
      await k(['apply', '-n', ns, '-f', '-'], {
        input: boundPod('short', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 }]),
      });
      // As if node-silent's kubelet ran 'patient': Ready, until the node is not.
      await c.patch(
        { version: 'v1', resource: 'pods', namespace: ns },
        'patient',
        { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } },
        'application/merge-patch+json',
        'status',
      );
      silent.stop();
      await waitFor('node-silent NotReady', async () => /node-silent\s+NotReady/.test(await k(['get', 'nodes'])), 75_000, 1000); // 40 s of grace, then the controller's next look
      const taints = await k(['get', 'node', 'node-silent', '-o', 'jsonpath={.spec.taints[*].key}']);
      expect(taints).toBe('node.kubernetes.io/unreachable node.kubernetes.io/unreachable');
      await waitFor('short evicted', async () => !!(await podOf('short')).metadata?.deletionTimestamp, 15_000);
      const patient = await podOf('patient');
      expect(patient.metadata?.deletionTimestamp).toBeUndefined();
      expect(patient.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'False' }));
      expect(await k(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=patient'])).toMatch(
        /Warning\s+NodeNotReady\s+pod\/patient\s+Node is not ready/,
      );
    } finally {
      silent.stop();
      // A node left behind would take pods no kubelet runs (and their deletions would never finish).
      await kubectl(['delete', 'node', 'node-silent', '--ignore-not-found']);
    }
    // Its Lease is owned by the Node: the garbage collector removes it too.
    await waitFor('the lease gone', async () => (await kubectl(['get', 'lease', '-n', 'kube-node-lease', 'node-silent'])).stderr.includes('not found'));
  }, 100_000);

  it('hands the work over when the leading controller-manager dies, never two at once', async () => {
    const cli = (f: string) => stateFile('pki', f);
    const second: ChildProcess = spawn(
      process.execPath,
      [
        resolve(import.meta.dirname, '../../services/controller-manager/dist/main.js'),
        `--apiserver=${ctx().subnet}.0.3:6444`,
        `--ca-file=${cli('ca.crt')}`,
        `--token-file=${cli('controller-manager.token')}`,
        '--port=0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    second.stdout!.on('data', (d) => (log += d));
    try {
      await waitFor('second replica up', () => log.includes('controller-manager running'));
      const holder = () => k(['get', 'lease', '-n', 'kube-system', 'kube-controller-manager', '-o', 'jsonpath={.spec.holderIdentity}']);
      const first = await holder();
      await new Promise((r) => setTimeout(r, 3000));
      expect(log).not.toContain('became leader'); // the standby waits while the leader renews
      // The compose file's two replicas (one leads, one stands by) killed as `docker kill` does: their restart policy
      // does not bring them back to race this standby for the Lease.
      const c = (await import('./helpers.js')).cluster();
      for (const replica of ['controller-manager', 'controller-manager-2']) c.killService(replica);
      await waitFor('the standby to lead', () => log.includes('became leader'), 30_000);
      expect(await holder()).not.toBe(first);
      await k(['apply', '-n', ns, '-f', '-'], { input: deploy('after-failover', 2) });
      await waitFor('pods from the new leader', async () => (await pods(ns, 'app=after-failover')).length === 2);
    } finally {
      second.kill('SIGKILL');
      (await import('./helpers.js')).kemu('start'); // the compose replica back, as a standby-then-leader
    }
  });
});
