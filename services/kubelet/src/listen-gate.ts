/**
 * When a container without a readiness probe counts as ready. Kubernetes
 * marks it ready once its runtime reports it running, which happens after
 * the image's entrypoint has been exec'd; a real runtime's start and the
 * kubelet's PLEG relist (every second) leave a server like nginx ample time
 * to open its listening socket before the pod shows Ready and enters a
 * Service's endpoints. kemu's runtime says running the moment it has spawned
 * the container, before the entrypoint has run, and reports at once: a
 * rolling update would put the new pod in kube-proxy's rules while its
 * connections are still refused. So a container that declares TCP
 * containerPorts becomes ready once its pod listens on them (at most
 * `timeoutMs` later, then ready anyway as in Kubernetes).
 */
import { readFile } from 'node:fs/promises';
import type { Container as ContainerSpec } from 'kubernetes-types/core/v1.js';

/** LISTEN in the `st` column of /proc/net/tcp. */
const TCP_LISTEN = '0A';

/** The ports with a listening socket in a /proc/net/tcp or tcp6 table. Pure. */
export function listeningPorts(table: string): Set<number> {
  const out = new Set<number>();
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== TCP_LISTEN) continue;
    const port = parseInt(f[1].split(':').pop() ?? '', 16);
    if (Number.isFinite(port)) out.add(port);
  }
  return out;
}

/** The TCP ports a container declares, when its readiness is the kubelet's default (no readiness or startup probe). Pure. */
export function gatedPorts(c: Pick<ContainerSpec, 'ports' | 'readinessProbe' | 'startupProbe'>): number[] {
  if (c.readinessProbe || c.startupProbe) return [];
  return (c.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP' && p.containerPort > 0).map((p) => p.containerPort);
}

export interface ListenWait {
  /** The container's process (its network namespace is the pod's), while it runs. */
  pid(): Promise<number | undefined>;
  ports: number[];
  timeoutMs: number;
  /** Stop waiting (the container ended). */
  stopped(): boolean;
  everyMs?: number;
}

const read = (f: string) => readFile(f, 'utf8').catch(() => '');

/** Resolves once every port listens in the container's network namespace, or at the timeout: whether they listened. */
export async function waitListening(o: ListenWait): Promise<boolean> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (o.stopped()) return false;
    const pid = await o.pid();
    if (pid) {
      const open = new Set([...listeningPorts(await read(`/proc/${pid}/net/tcp`)), ...listeningPorts(await read(`/proc/${pid}/net/tcp6`))]);
      if (o.ports.every((p) => open.has(p))) return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, o.everyMs ?? 50));
  }
}
