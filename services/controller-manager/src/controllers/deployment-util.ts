/**
 * Pure pieces of the Deployment controller: the pod-template hash, surge and
 * unavailability arithmetic, how far a rolling update may scale each side,
 * revisions, and the status and conditions `kubectl rollout status` reads.
 */
import { formatTime } from '@kemu/api';
import type { Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { Obj } from '../typed.js';

export const HASH_LABEL = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a (32 bit) of the template (and collision count), encoded as Kubernetes' SafeEncodeString. */
export function templateHash(template: unknown, collisionCount = 0): string {
  const text = canonical(template) + (collisionCount ? String(collisionCount) : '');
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => ALPHABET[Number(c) % ALPHABET.length]).join('');
}

/** JSON with sorted keys, so equal templates hash equally. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The template without the hash label and with creationTimestamp dropped, for equality. */
export function templateKey(template: PodTemplateSpec | undefined): string {
  const { metadata, ...rest } = template ?? {};
  if (!metadata) return canonical(rest);
  const meta: Record<string, unknown> = Object.fromEntries(Object.entries(metadata).filter(([k]) => k !== 'creationTimestamp' && k !== 'labels'));
  const labels = Object.fromEntries(Object.entries(metadata.labels ?? {}).filter(([k]) => k !== HASH_LABEL));
  if (Object.keys(labels).length) meta.labels = labels;
  return canonical(Object.keys(meta).length ? { ...rest, metadata: meta } : rest);
}

function resolve(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.endsWith('%')) {
    const x = (Number(v.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(x) : Math.floor(x);
  }
  return Number(v ?? 0);
}

/** maxSurge rounds up, maxUnavailable down; both 0 means 1 unavailable (Kubernetes' ResolveFenceposts). */
export function fenceposts(d: Deployment): { surge: number; unavailable: number } {
  const replicas = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const surge = resolve(ru.maxSurge ?? '25%', replicas, true);
  let unavailable = resolve(ru.maxUnavailable ?? '25%', replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export const revisionOf = (rs: ReplicaSet) => Number(rs.metadata?.annotations?.[REVISION] ?? 0);
/** Only the count is read: a ReplicaSet not created yet is `{ spec: { replicas: 0 } }`. */
type Scaled = { spec?: { replicas?: number } };
const replicasOf = (rs: Scaled) => rs.spec?.replicas ?? 0;
/**
 * Available pods of a ReplicaSet, never more than it is asked to keep: right
 * after we scale one down its status still counts the pods being deleted,
 * and trusting that would scale down twice (below maxUnavailable).
 */
const availableOf = (rs: ReplicaSet) => Math.min(rs.status?.availableReplicas ?? 0, rs.spec?.replicas ?? 0);

/** How many replicas the new ReplicaSet should have now (rolling update). */
export function newReplicaSetReplicas(d: Deployment, all: Scaled[], newRS: Scaled): number {
  const want = d.spec?.replicas ?? 1;
  const current = replicasOf(newRS);
  if (current >= want) return want;
  const { surge } = fenceposts(d);
  const total = all.reduce((n, rs) => n + replicasOf(rs), 0);
  const room = want + surge - total;
  if (room <= 0) return current;
  return current + Math.min(room, want - current);
}

/**
 * How to scale the old ReplicaSets down (rolling update): first their
 * unavailable pods, then as many as keep at least replicas - maxUnavailable
 * available. Returns new replica counts by name.
 */
export function scaleDownOld(d: Deployment, newRS: ReplicaSet | undefined, old: Obj<ReplicaSet>[]): Map<string, number> {
  const out = new Map<string, number>();
  const oldTotal = old.reduce((n, rs) => n + replicasOf(rs), 0);
  if (oldTotal === 0) return out;
  const want = d.spec?.replicas ?? 1;
  const { unavailable } = fenceposts(d);
  const all = [...old, ...(newRS ? [newRS] : [])];
  const allPods = all.reduce((n, rs) => n + replicasOf(rs), 0);
  const minAvailable = want - unavailable;
  const newUnavailable = newRS ? replicasOf(newRS) - availableOf(newRS) : 0;
  let maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return out;
  // Oldest first; unhealthy replicas go first and do not count against availability.
  const sorted = [...old].sort((a, b) => revisionOf(a) - revisionOf(b));
  const counts = new Map(sorted.map((rs) => [rs.metadata.name!, replicasOf(rs)]));
  for (const rs of sorted) {
    if (maxScaledDown <= 0) break;
    const cur = counts.get(rs.metadata.name!)!;
    const unhealthy = Math.max(0, cur - availableOf(rs));
    const cut = Math.min(unhealthy, maxScaledDown);
    if (cut > 0) {
      counts.set(rs.metadata.name!, cur - cut);
      maxScaledDown -= cut;
    }
  }
  const availableNow = all.reduce((n, rs) => n + availableOf(rs), 0);
  let canDrop = availableNow - minAvailable;
  for (const rs of sorted) {
    if (canDrop <= 0) break;
    const cur = counts.get(rs.metadata.name!)!;
    const cut = Math.min(cur, canDrop);
    counts.set(rs.metadata.name!, cur - cut);
    canDrop -= cut;
  }
  for (const rs of sorted) if (counts.get(rs.metadata.name!) !== replicasOf(rs)) out.set(rs.metadata.name!, counts.get(rs.metadata.name!)!);
  return out;
}

type Condition = DeploymentCondition;

function setCondition(conds: Condition[], c: Omit<Condition, 'lastUpdateTime' | 'lastTransitionTime'>, now: string): Condition[] {
  const old = conds.find((x) => x.type === c.type);
  if (old && old.status === c.status && old.reason === c.reason && old.message === c.message) return conds;
  const next: Condition = { ...c, lastUpdateTime: now, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now };
  return [...conds.filter((x) => x.type !== c.type), next];
}

/** The Deployment's status: counts, observedGeneration and the Available / Progressing conditions. */
export function deploymentStatus(d: Deployment, newRS: ReplicaSet | undefined, all: ReplicaSet[], now: Date): DeploymentStatus {
  const nowStr = formatTime(now);
  const want = d.spec?.replicas ?? 1;
  const sum = (f: (rs: ReplicaSet) => number) => all.reduce((n, rs) => n + f(rs), 0);
  const replicas = sum((rs) => rs.status?.replicas ?? 0);
  const available = sum(availableOf);
  const ready = sum((rs) => rs.status?.readyReplicas ?? 0);
  const updated = newRS?.status?.replicas ?? 0;
  const { unavailable } = fenceposts(d);
  let conds: Condition[] = [...(d.status?.conditions ?? [])];
  conds = setCondition(
    conds,
    available >= want - unavailable
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
    nowStr,
  );
  const rsName = newRS?.metadata?.name ?? '';
  const complete = updated === want && replicas === want && available >= want && (newRS?.status?.availableReplicas ?? 0) >= want;
  const progressing = conds.find((c) => c.type === 'Progressing');
  if (d.spec?.paused) {
    conds = setCondition(conds, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, nowStr);
  } else if (complete) {
    conds = setCondition(
      conds,
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` },
      nowStr,
    );
  } else if (
    progressing &&
    progressing.status === 'True' &&
    Date.parse(progressing.lastUpdateTime ?? '') + (d.spec?.progressDeadlineSeconds ?? 600) * 1000 < now.getTime()
  ) {
    conds = setCondition(
      conds,
      { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` },
      nowStr,
    );
  } else if (!progressing || progressing.reason === 'DeploymentPaused' || progressing.reason === 'NewReplicaSetAvailable' || progressing.status !== 'False') {
    const moved = !progressing || (d.status?.updatedReplicas ?? -1) !== updated || (d.status?.availableReplicas ?? -1) !== available;
    if (moved) {
      const reason = progressing?.message?.includes(rsName) ? 'ReplicaSetUpdated' : 'NewReplicaSetCreated';
      const message = reason === 'ReplicaSetUpdated' ? `ReplicaSet "${rsName}" is progressing.` : `Created new replica set "${rsName}"`;
      conds = [
        ...conds.filter((c) => c.type !== 'Progressing'),
        {
          type: 'Progressing',
          status: 'True',
          reason,
          message,
          lastUpdateTime: nowStr,
          lastTransitionTime: progressing?.status === 'True' ? progressing.lastTransitionTime : nowStr,
        },
      ];
    }
  }
  const unavail = Math.max(0, want - available);
  return {
    observedGeneration: d.metadata?.generation,
    replicas,
    updatedReplicas: updated,
    readyReplicas: ready,
    availableReplicas: available,
    conditions: conds.sort((a, b) => (a.type < b.type ? -1 : 1)),
    ...(unavail ? { unavailableReplicas: unavail } : {}),
    ...(d.status?.collisionCount ? { collisionCount: d.status.collisionCount } : {}),
  };
}
