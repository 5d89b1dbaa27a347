/**
 * Pod Security admission, as Kubernetes' built-in PodSecurity plugin with
 * its default configuration: a namespace's labels
 * `pod-security.kubernetes.io/{enforce,warn,audit}` (privileged, baseline or
 * restricted, at version `latest`) decide which pods it takes. `enforce`
 * refuses a violating pod; `warn` lets it in with a warning kubectl prints;
 * workload resources (their pod templates) are only warned about; `audit`
 * lets it in and notes the violation on the request's audit event. A
 * namespace without labels is privileged. The checks and their wording are
 * those of the Pod Security Standards at 1.32. Pure.
 */
import type { Container, PodSpec, SecurityContext, PodSecurityContext } from 'kubernetes-types/core/v1.js';

export type Level = 'privileged' | 'baseline' | 'restricted';
export const LEVELS: Level[] = ['privileged', 'baseline', 'restricted'];
const PREFIX = 'pod-security.kubernetes.io/';

export interface NamespacePolicy {
  enforce: Level;
  warn: Level;
  audit: Level;
}

/** The policy of a namespace's labels (an unknown level counts as restricted, as Kubernetes' fail-closed parsing). */
export function namespacePolicy(labels: Record<string, string> | undefined): NamespacePolicy {
  const level = (mode: string): Level => {
    const v = labels?.[`${PREFIX}${mode}`];
    if (v === undefined) return 'privileged';
    return (LEVELS as string[]).includes(v) ? (v as Level) : 'restricted';
  };
  return { enforce: level('enforce'), warn: level('warn'), audit: level('audit') };
}

/** Label values that are not levels, for the namespace's validation. */
export function invalidPolicyLabels(labels: Record<string, string> | undefined): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!k.startsWith(PREFIX)) continue;
    const mode = k.slice(PREFIX.length);
    if (['enforce', 'warn', 'audit'].includes(mode) && !(LEVELS as string[]).includes(v)) out.push(k);
    if (['enforce-version', 'warn-version', 'audit-version'].includes(mode) && v !== 'latest' && !/^v1\.\d+$/.test(v)) out.push(k);
  }
  return out;
}

type AnyContainer = Container & { kind: 'container' | 'initContainer' | 'ephemeralContainer' };

function containersOf(spec: PodSpec): AnyContainer[] {
  return [
    ...(spec.initContainers ?? []).map((c) => ({ ...c, kind: 'initContainer' as const })),
    ...(spec.containers ?? []).map((c) => ({ ...c, kind: 'container' as const })),
    ...((spec as PodSpec & { ephemeralContainers?: Container[] }).ephemeralContainers ?? []).map((c) => ({ ...c, kind: 'ephemeralContainer' as const })),
  ];
}

/** `container "a"`, `containers "a", "b"`, as the checks name them. */
function named(cs: AnyContainer[]): string {
  const noun = cs[0].kind === 'initContainer' ? 'initContainer' : cs[0].kind === 'ephemeralContainer' ? 'ephemeralContainer' : 'container';
  return `${noun}${cs.length > 1 ? 's' : ''} ${cs.map((c) => JSON.stringify(c.name)).join(', ')}`;
}

/** Group offending containers by kind, naming each group. */
function offenders(cs: AnyContainer[]): string[] {
  const out: string[] = [];
  for (const kind of ['container', 'initContainer', 'ephemeralContainer'] as const) {
    const of = cs.filter((c) => c.kind === kind);
    if (of.length) out.push(named(of));
  }
  return out;
}

const DEFAULT_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

type Check = (spec: PodSpec, cs: AnyContainer[]) => string | undefined;

const sc = (c: AnyContainer): SecurityContext => c.securityContext ?? {};
const psc = (spec: PodSpec): PodSecurityContext => spec.securityContext ?? {};

const BASELINE: Check[] = [
  (spec) => {
    const on = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec[f]);
    return on.length ? `host namespaces (${on.map((f) => `${f}=true`).join(', ')})` : undefined;
  },
  (_s, cs) => {
    const bad = cs.filter((c) => sc(c).privileged);
    return bad.length ? `privileged (${offenders(bad).join(', ')} must not set securityContext.privileged=true)` : undefined;
  },
  (_s, cs) => {
    const parts: string[] = [];
    for (const c of cs) {
      const added = (sc(c).capabilities?.add ?? []).filter((a) => !DEFAULT_CAPABILITIES.has(a));
      if (added.length) parts.push(`${named([c])} must not include ${added.map((a) => JSON.stringify(a)).join(', ')} in securityContext.capabilities.add`);
    }
    return parts.length ? `non-default capabilities (${parts.join('; ')})` : undefined;
  },
  (spec) => {
    const vs = (spec.volumes ?? []).filter((v) => v.hostPath).map((v) => JSON.stringify(v.name));
    return vs.length ? `hostPath volume${vs.length > 1 ? 's' : ''} (${vs.join(', ')})` : undefined;
  },
  (_s, cs) => {
    const parts: string[] = [];
    for (const c of cs) {
      const ports = (c.ports ?? []).map((p) => p.hostPort).filter((p): p is number => !!p);
      if (ports.length) parts.push(`${named([c])} uses hostPort${ports.length > 1 ? 's' : ''} ${ports.join(', ')}`);
    }
    return parts.length ? `hostPort (${parts.join('; ')})` : undefined;
  },
  (_s, cs) => {
    const bad = cs.filter((c) => sc(c).procMount && sc(c).procMount !== 'Default');
    return bad.length ? `procMount (${offenders(bad).join(', ')} must not set securityContext.procMount to "Unmasked")` : undefined;
  },
  (spec, cs) => {
    const parts: string[] = [];
    if (psc(spec).seccompProfile?.type === 'Unconfined') parts.push('pod must not set securityContext.seccompProfile.type to "Unconfined"');
    const bad = cs.filter((c) => sc(c).seccompProfile?.type === 'Unconfined');
    if (bad.length) parts.push(`${offenders(bad).join(', ')} must not set securityContext.seccompProfile.type to "Unconfined"`);
    return parts.length ? `seccompProfile (${parts.join('; ')})` : undefined;
  },
  (spec) => {
    const bad = (psc(spec).sysctls ?? []).map((s) => s.name).filter((n) => !SAFE_SYSCTLS.has(n));
    return bad.length ? `forbidden sysctls (${bad.join(', ')})` : undefined;
  },
];

const RESTRICTED: Check[] = [
  (spec) => {
    const bad: string[] = [];
    for (const v of spec.volumes ?? []) {
      const type = Object.keys(v).find((k) => k !== 'name');
      if (type && !RESTRICTED_VOLUMES.includes(type) && type !== 'hostPath')
        bad.push(`volume ${JSON.stringify(v.name)} uses restricted volume type ${JSON.stringify(type)}`);
    }
    return bad.length ? `restricted volume types (${bad.join(', ')})` : undefined;
  },
  (_s, cs) => {
    const bad = cs.filter((c) => sc(c).allowPrivilegeEscalation !== false);
    return bad.length ? `allowPrivilegeEscalation != false (${offenders(bad).join(', ')} must set securityContext.allowPrivilegeEscalation=false)` : undefined;
  },
  (_s, cs) => {
    const bad = cs.filter((c) => !(sc(c).capabilities?.drop ?? []).includes('ALL') || (sc(c).capabilities?.add ?? []).some((a) => a !== 'NET_BIND_SERVICE'));
    if (!bad.length) return undefined;
    const parts = bad.map((c) => {
      const wrong = (sc(c).capabilities?.add ?? []).filter((a) => a !== 'NET_BIND_SERVICE');
      if (!(sc(c).capabilities?.drop ?? []).includes('ALL')) return `${named([c])} must set securityContext.capabilities.drop=["ALL"]`;
      return `${named([c])} must not include ${wrong.map((a) => JSON.stringify(a)).join(', ')} in securityContext.capabilities.add`;
    });
    return `unrestricted capabilities (${parts.join('; ')})`;
  },
  (spec, cs) => {
    if (psc(spec).runAsNonRoot === false) return 'runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)';
    const bad = cs.filter((c) => sc(c).runAsNonRoot === false || (sc(c).runAsNonRoot === undefined && psc(spec).runAsNonRoot !== true));
    if (!bad.length) return undefined;
    return psc(spec).runAsNonRoot === true
      ? `runAsNonRoot != true (${offenders(bad).join(', ')} must not set securityContext.runAsNonRoot=false)`
      : `runAsNonRoot != true (pod or ${offenders(bad).join(', ')} must set securityContext.runAsNonRoot=true)`;
  },
  (spec, cs) => {
    if (psc(spec).runAsUser === 0) return 'runAsUser=0 (pod must not set runAsUser=0)';
    const bad = cs.filter((c) => sc(c).runAsUser === 0);
    return bad.length ? `runAsUser=0 (${offenders(bad).join(', ')} must not set runAsUser=0)` : undefined;
  },
  (spec, cs) => {
    const ok = (t: string | undefined) => t === 'RuntimeDefault' || t === 'Localhost';
    const podOk = ok(psc(spec).seccompProfile?.type);
    const bad = cs.filter((c) => (sc(c).seccompProfile ? !ok(sc(c).seccompProfile?.type) : !podOk));
    if (!bad.length || bad.every((c) => sc(c).seccompProfile?.type === 'Unconfined')) return undefined; // baseline already says so
    return podOk
      ? `seccompProfile (${offenders(bad).join(', ')} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`
      : `seccompProfile (pod or ${offenders(bad).join(', ')} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`;
  },
];

/** What a pod spec breaks of a level, in the order Kubernetes lists it (empty: it meets the level). */
export function violations(level: Level, spec: PodSpec | undefined): string[] {
  if (level === 'privileged' || !spec) return [];
  const cs = containersOf(spec);
  const checks = level === 'baseline' ? BASELINE : [...BASELINE, ...RESTRICTED];
  return checks.map((c) => c(spec, cs)).filter((v): v is string => !!v);
}

/** The text of a refusal or warning: `violates PodSecurity "restricted:latest": a, b`. */
export const policyText = (level: Level, vs: string[]) => `PodSecurity "${level}:latest": ${vs.join(', ')}`;

/**
 * The audit annotations the PodSecurity plugin adds to a request's audit
 * event: Kubernetes' api.AuditAnnotationPrefix (the label prefix) before
 * EnforcedPolicyAnnotationKey and AuditViolationsAnnotationKey.
 */
export const ENFORCE_POLICY_ANNOTATION = `${PREFIX}enforce-policy`;
export const AUDIT_VIOLATIONS_ANNOTATION = `${PREFIX}audit-violations`;

/** What admission does with one pod(-like) spec. */
export interface PodEvaluation {
  /** The refusal's text (`violates PodSecurity ...`), when the enforce level forbids the pod. */
  refusal?: string;
  /** Warnings for the client; none when the request is refused. */
  warnings: string[];
  /** For the request's audit event, refused or not. */
  auditAnnotations: Record<string, string>;
}

/**
 * Kubernetes' Admission.EvaluatePod: a pod (`enforce`) or a workload's pod
 * template (not enforced) against its namespace's three levels. A pod in a
 * fully privileged namespace still says which policy held it, as
 * sharedAllowedPrivilegedResponse does.
 */
export function evaluatePod(policy: NamespacePolicy, spec: PodSpec | undefined, enforce: boolean): PodEvaluation {
  const auditAnnotations: Record<string, string> = {};
  if (enforce) auditAnnotations[ENFORCE_POLICY_ANNOTATION] = `${policy.enforce}:latest`;
  const enforced = enforce ? violations(policy.enforce, spec) : [];
  const refusal = enforced.length ? `violates ${policyText(policy.enforce, enforced)}` : undefined;
  const audited = violations(policy.audit, spec);
  if (audited.length) auditAnnotations[AUDIT_VIOLATIONS_ANNOTATION] = `would violate ${policyText(policy.audit, audited)}`;
  // A request about to be refused gets no warnings besides its error.
  const warned = refusal ? [] : violations(policy.warn, spec);
  return { ...(refusal ? { refusal } : {}), warnings: warned.length ? [`would violate ${policyText(policy.warn, warned)}`] : [], auditAnnotations };
}
