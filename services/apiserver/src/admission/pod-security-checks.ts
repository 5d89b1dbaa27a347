/**
 * The checks of the Pod Security Standards at 1.32, one per check of
 * Kubernetes' k8s.io/pod-security-admission/policy (check_*.go), with the
 * same IDs, forbidden reasons and details, so a refusal or warning reads as
 * kube-apiserver's. Pure.
 */
import type { Container, PodSpec, SecurityContext } from 'kubernetes-types/core/v1.js';

/** What a check sees of a pod or a workload's pod template. */
export interface PodShape {
  annotations: Record<string, string>;
  spec: PodSpec;
}

/** One check: a reason and detail when the pod breaks it (kubectl shows `reason (detail)`). */
export interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  /** Baseline checks a restricted check replaces at the restricted level (Kubernetes' OverrideCheckIDs). */
  overrides?: string[];
  run(pod: PodShape): { reason: string; detail: string } | undefined;
}

/** Init containers, containers, then ephemeral containers: Kubernetes' visitContainers, which names them all "container". */
function containers(spec: PodSpec): Container[] {
  const ephemeral = (spec as PodSpec & { ephemeralContainers?: Container[] }).ephemeralContainers ?? [];
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...ephemeral];
}

const pluralize = (one: string, many: string, n: number) => (n === 1 ? one : many);
const joinQuote = (items: string[]) => items.map((s) => `"${s}"`).join(', ');
/** Sorted, without duplicates: Go's sets.String List(). */
const setList = (items: Iterable<string>) => [...new Set(items)].sort();
const named = (names: string[]) => `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
const sc = (c: Container): SecurityContext => c.securityContext ?? {};
const isWindows = (spec: PodSpec) => spec.os?.name === 'windows';
const forbid = (reason: string, detail: string) => ({ reason, detail });

/**
 * Pod-level setting plus containers' settings, for the checks that word it as
 * `pod and containers "a", "b" must not set ...`: the setters that are bad.
 */
function setters(spec: PodSpec, podBad: boolean, bad: (c: Container) => boolean): string[] {
  const out = podBad ? ['pod'] : [];
  const cs = containers(spec)
    .filter(bad)
    .map((c) => c.name);
  if (cs.length) out.push(named(cs));
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
/** sysctlsAllowedV1Dot32. */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
]);
/** selinuxAllowedTypes1_31: container_engine_t joined at 1.31. */
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
/** The volume sources check_restrictedVolumes.go names; anything else is "unknown". */
const NAMED_VOLUMES = new Set([
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'nfs',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
]);
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';
const validSeccomp = (t: string | undefined) => t === 'RuntimeDefault' || t === 'Localhost';
const validAppArmorType = (t: string | undefined) => t === 'RuntimeDefault' || t === 'Localhost';
const validAppArmorAnnotation = (v: string) => v === '' || v === 'runtime/default' || v.startsWith('localhost/');

const appArmorProfile: Check = {
  id: 'appArmorProfile',
  level: 'baseline',
  run: ({ annotations, spec }) => {
    const podProfile = spec.securityContext?.appArmorProfile;
    const bad = (p: { type?: string } | undefined) => !!p && !validAppArmorType(p.type);
    const types = [podProfile, ...containers(spec).map((c) => sc(c).appArmorProfile)].filter(bad).map((p) => p?.type ?? '');
    const who = setters(spec, bad(podProfile), (c) => bad(sc(c).appArmorProfile));
    const badAnnotations = Object.entries(annotations)
      .filter(([k, v]) => k.startsWith(APPARMOR_ANNOTATION) && !validAppArmorAnnotation(v))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .sort();
    if (badAnnotations.length) who.push(pluralize('annotation', 'annotations', badAnnotations.length));
    if (!who.length) return undefined;
    const values = [...setList(types), ...badAnnotations];
    return forbid(
      pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', values.length),
      `${who.join(' and ')} must not set AppArmor profile type to ${joinQuote(values)}`,
    );
  },
};

const capabilitiesBaseline: Check = {
  id: 'capabilities_baseline',
  level: 'baseline',
  run: ({ spec }) => {
    const added = (c: Container) => (sc(c).capabilities?.add ?? []).filter((a) => !DEFAULT_CAPABILITIES.has(a));
    const bad = containers(spec).filter((c) => added(c).length);
    if (!bad.length) return undefined;
    const caps = setList(bad.flatMap(added));
    return forbid('non-default capabilities', `${named(bad.map((c) => c.name))} must not include ${joinQuote(caps)} in securityContext.capabilities.add`);
  },
};

const hostNamespaces: Check = {
  id: 'hostNamespaces',
  level: 'baseline',
  run: ({ spec }) => {
    const on = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec[f]);
    return on.length ? forbid('host namespaces', on.map((f) => `${f}=true`).join(', ')) : undefined;
  },
};

const hostPathVolumes: Check = {
  id: 'hostPathVolumes',
  level: 'baseline',
  run: ({ spec }) => {
    const vs = (spec.volumes ?? []).filter((v) => v.hostPath).map((v) => v.name);
    return vs.length ? forbid('hostPath volumes', `${pluralize('volume', 'volumes', vs.length)} ${joinQuote(vs)}`) : undefined;
  },
};

const hostPorts: Check = {
  id: 'hostPorts',
  level: 'baseline',
  run: ({ spec }) => {
    const portsOf = (c: Container) => (c.ports ?? []).map((p) => p.hostPort ?? 0).filter((p) => p !== 0);
    const bad = containers(spec).filter((c) => portsOf(c).length);
    if (!bad.length) return undefined;
    const ports = setList(bad.flatMap(portsOf).map(String));
    return forbid(
      'hostPort',
      `${named(bad.map((c) => c.name))} ${pluralize('uses', 'use', bad.length)} ${pluralize('hostPort', 'hostPorts', ports.length)} ${ports.join(', ')}`,
    );
  },
};

const privileged: Check = {
  id: 'privileged',
  level: 'baseline',
  run: ({ spec }) => {
    const bad = containers(spec).filter((c) => sc(c).privileged === true);
    return bad.length ? forbid('privileged', `${named(bad.map((c) => c.name))} must not set securityContext.privileged=true`) : undefined;
  },
};

const procMount: Check = {
  id: 'procMount',
  level: 'baseline',
  run: ({ spec }) => {
    // Any value but Default, even an empty one, as Kubernetes compares the pointer's value.
    const bad = containers(spec).filter((c) => sc(c).procMount !== undefined && sc(c).procMount !== 'Default');
    if (!bad.length) return undefined;
    const types = setList(bad.map((c) => sc(c).procMount ?? ''));
    return forbid('procMount', `${named(bad.map((c) => c.name))} must not set securityContext.procMount to ${joinQuote(types)}`);
  },
};

const seLinuxOptions: Check = {
  id: 'seLinuxOptions',
  level: 'baseline',
  run: ({ spec }) => {
    const badTypes = new Set<string>();
    let user = false;
    let role = false;
    const bad = (o: { type?: string; user?: string; role?: string } | undefined) => {
      if (!o) return false;
      let ok = true;
      if (!SELINUX_TYPES.has(o.type ?? '')) {
        ok = false;
        badTypes.add(o.type ?? '');
      }
      if (o.user) [ok, user] = [false, true];
      if (o.role) [ok, role] = [false, true];
      return !ok;
    };
    const who = setters(spec, bad(spec.securityContext?.seLinuxOptions), (c) => bad(sc(c).seLinuxOptions));
    if (!who.length) return undefined;
    const data: string[] = [];
    if (badTypes.size) data.push(`${pluralize('type', 'types', badTypes.size)} ${joinQuote(setList(badTypes))}`);
    if (user) data.push('user may not be set');
    if (role) data.push('role may not be set');
    return forbid('seLinuxOptions', `${who.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`);
  },
};

/** seccompProfile_baseline: only an explicitly set profile other than RuntimeDefault or Localhost. */
const seccompProfileBaseline: Check = {
  id: 'seccompProfile_baseline',
  level: 'baseline',
  run: ({ spec }) => {
    const pod = spec.securityContext?.seccompProfile;
    const bad = (p: { type?: string } | undefined) => !!p && !validSeccomp(p.type);
    const who = setters(spec, bad(pod), (c) => bad(sc(c).seccompProfile));
    if (!who.length) return undefined;
    const values = setList([pod, ...containers(spec).map((c) => sc(c).seccompProfile)].filter(bad).map((p) => p?.type ?? ''));
    return forbid('seccompProfile', `${who.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(values)}`);
  },
};

const sysctls: Check = {
  id: 'sysctls',
  level: 'baseline',
  run: ({ spec }) => {
    const bad = (spec.securityContext?.sysctls ?? []).map((s) => s.name).filter((n) => !SAFE_SYSCTLS.has(n));
    return bad.length ? forbid('forbidden sysctls', bad.join(', ')) : undefined;
  },
};

const windowsHostProcess: Check = {
  id: 'windowsHostProcess',
  level: 'baseline',
  run: ({ spec }) => {
    const who = setters(spec, spec.securityContext?.windowsOptions?.hostProcess === true, (c) => sc(c).windowsOptions?.hostProcess === true);
    return who.length ? forbid('hostProcess', `${who.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`) : undefined;
  },
};

/** From 1.25 a Windows pod (spec.os.name) is exempt, as those fields cannot be set for it. */
const allowPrivilegeEscalation: Check = {
  id: 'allowPrivilegeEscalation',
  level: 'restricted',
  run: ({ spec }) => {
    if (isWindows(spec)) return undefined;
    const bad = containers(spec).filter((c) => sc(c).allowPrivilegeEscalation !== false);
    return bad.length
      ? forbid('allowPrivilegeEscalation != false', `${named(bad.map((c) => c.name))} must set securityContext.allowPrivilegeEscalation=false`)
      : undefined;
  },
};

const capabilitiesRestricted: Check = {
  id: 'capabilities_restricted',
  level: 'restricted',
  overrides: ['capabilities_baseline'],
  run: ({ spec }) => {
    if (isWindows(spec)) return undefined;
    const cs = containers(spec);
    const missingDrop = cs.filter((c) => !(sc(c).capabilities?.drop ?? []).includes('ALL')).map((c) => c.name);
    const wrong = (c: Container) => (sc(c).capabilities?.add ?? []).filter((a) => a !== 'NET_BIND_SERVICE');
    const adding = cs.filter((c) => wrong(c).length);
    const details: string[] = [];
    if (missingDrop.length) details.push(`${named(missingDrop)} must set securityContext.capabilities.drop=["ALL"]`);
    if (adding.length)
      details.push(`${named(adding.map((c) => c.name))} must not include ${joinQuote(setList(adding.flatMap(wrong)))} in securityContext.capabilities.add`);
    return details.length ? forbid('unrestricted capabilities', details.join('; ')) : undefined;
  },
};

const restrictedVolumes: Check = {
  id: 'restrictedVolumes',
  level: 'restricted',
  overrides: ['hostPathVolumes'],
  run: ({ spec }) => {
    const names: string[] = [];
    const types = new Set<string>();
    for (const v of spec.volumes ?? []) {
      const sources = Object.keys(v).filter((k) => k !== 'name' && v[k as keyof typeof v] != null);
      if (sources.some((k) => RESTRICTED_VOLUMES.has(k))) continue;
      names.push(v.name);
      types.add(sources.find((k) => NAMED_VOLUMES.has(k)) ?? 'unknown');
    }
    if (!names.length) return undefined;
    return forbid(
      'restricted volume types',
      `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('restricted volume type', 'restricted volume types', types.size)} ${joinQuote(setList(types))}`,
    );
  },
};

const runAsNonRoot: Check = {
  id: 'runAsNonRoot',
  level: 'restricted',
  run: ({ spec }) => {
    const pod = spec.securityContext?.runAsNonRoot;
    const cs = containers(spec);
    const who = setters(spec, pod === false, (c) => sc(c).runAsNonRoot === false);
    if (who.length) return forbid('runAsNonRoot != true', `${who.join(' and ')} must not set securityContext.runAsNonRoot=false`);
    const implicit = cs.filter((c) => sc(c).runAsNonRoot === undefined && pod !== true).map((c) => c.name);
    return implicit.length ? forbid('runAsNonRoot != true', `pod or ${named(implicit)} must set securityContext.runAsNonRoot=true`) : undefined;
  },
};

const runAsUser: Check = {
  id: 'runAsUser',
  level: 'restricted',
  run: ({ spec }) => {
    const who = setters(spec, spec.securityContext?.runAsUser === 0, (c) => sc(c).runAsUser === 0);
    return who.length ? forbid('runAsUser=0', `${who.join(' and ')} must not set runAsUser=0`) : undefined;
  },
};

const seccompProfileRestricted: Check = {
  id: 'seccompProfile_restricted',
  level: 'restricted',
  overrides: ['seccompProfile_baseline'],
  run: (pod) => {
    const { spec } = pod;
    if (isWindows(spec)) return undefined;
    const explicit = seccompProfileBaseline.run(pod);
    if (explicit) return explicit;
    const podSet = validSeccomp(spec.securityContext?.seccompProfile?.type);
    const implicit = containers(spec)
      .filter((c) => !sc(c).seccompProfile && !podSet)
      .map((c) => c.name);
    return implicit.length
      ? forbid('seccompProfile', `pod or ${named(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`)
      : undefined;
  },
};

const ALL: Check[] = [
  appArmorProfile,
  capabilitiesBaseline,
  hostNamespaces,
  hostPathVolumes,
  hostPorts,
  privileged,
  procMount,
  seLinuxOptions,
  seccompProfileBaseline,
  sysctls,
  windowsHostProcess,
  allowPrivilegeEscalation,
  capabilitiesRestricted,
  restrictedVolumes,
  runAsNonRoot,
  runAsUser,
  seccompProfileRestricted,
];

// Kubernetes orders a level's checks by ID (byte order), baseline ones first, so messages list violations stably.
const byId = (a: Check, b: Check) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const baseline = ALL.filter((c) => c.level === 'baseline').sort(byId);
const restrictedOnly = ALL.filter((c) => c.level === 'restricted').sort(byId);
const overridden = new Set(restrictedOnly.flatMap((c) => c.overrides ?? []));

/** The checks of a level, in Kubernetes' order; restricted replaces the baseline checks it overrides. */
export const CHECKS: Record<'baseline' | 'restricted', Check[]> = {
  baseline,
  restricted: [...baseline.filter((c) => !overridden.has(c.id)), ...restrictedOnly],
};
