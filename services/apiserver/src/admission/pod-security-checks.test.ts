import { describe, expect, it } from 'vitest';
import type { Container, PodSpec, SecurityContext } from 'kubernetes-types/core/v1.js';
import { CHECKS } from './pod-security-checks.js';
import { violations } from './pod-security.js';

const c = (name: string, securityContext?: SecurityContext, extra: Partial<Container> = {}): Container => ({
  name,
  image: 'x',
  ...extra,
  ...(securityContext ? { securityContext } : {}),
});
const baseline = (spec: PodSpec, annotations: Record<string, string> = {}) => violations('baseline', spec, annotations);
/** A pod that meets restricted, to which a case adds one thing. */
const good = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
const restrictedPod = (over: Partial<PodSpec>): PodSpec => ({
  securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [c('app', good)],
  ...over,
});

describe('Pod Security checks, as k8s.io/pod-security-admission/policy at 1.32', () => {
  it('orders checks by ID, baseline first; restricted drops the baseline checks it overrides', () => {
    expect(CHECKS.baseline.map((k) => k.id)).toEqual([
      'appArmorProfile',
      'capabilities_baseline',
      'hostNamespaces',
      'hostPathVolumes',
      'hostPorts',
      'privileged',
      'procMount',
      'seLinuxOptions',
      'seccompProfile_baseline',
      'sysctls',
      'windowsHostProcess',
    ]);
    expect(CHECKS.restricted.map((k) => k.id)).toEqual([
      'appArmorProfile',
      'hostNamespaces',
      'hostPorts',
      'privileged',
      'procMount',
      'seLinuxOptions',
      'sysctls',
      'windowsHostProcess',
      'allowPrivilegeEscalation',
      'capabilities_restricted',
      'restrictedVolumes',
      'runAsNonRoot',
      'runAsUser',
      'seccompProfile_restricted',
    ]);
  });

  it('AppArmor: RuntimeDefault and Localhost fields, runtime/default, localhost/* and empty annotations pass', () => {
    const spec: PodSpec = {
      securityContext: { appArmorProfile: { type: 'RuntimeDefault' } },
      containers: [c('a', { appArmorProfile: { type: 'Localhost', localhostProfile: 'p' } })],
    };
    const annotations = {
      'container.apparmor.security.beta.kubernetes.io/a': 'runtime/default',
      'container.apparmor.security.beta.kubernetes.io/b': 'localhost/p',
      'container.apparmor.security.beta.kubernetes.io/c': '',
      env: 'unconfined',
    };
    expect(baseline(spec, annotations)).toEqual([]);
  });

  it('AppArmor: Unconfined at pod, container, init and ephemeral level, and unconfined annotations, are refused', () => {
    expect(baseline({ securityContext: { appArmorProfile: { type: 'Unconfined' } }, containers: [c('a')] })).toEqual([
      'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")',
    ]);
    const spec = {
      initContainers: [c('init', { appArmorProfile: { type: 'Unconfined' } })],
      containers: [c('a')],
      ephemeralContainers: [c('debug', { appArmorProfile: { type: 'Unconfined' } })],
    } as PodSpec;
    expect(baseline(spec)).toEqual(['forbidden AppArmor profile (containers "init", "debug" must not set AppArmor profile type to "Unconfined")']);
    const annotations = {
      'container.apparmor.security.beta.kubernetes.io/e': 'unconfined',
      'container.apparmor.security.beta.kubernetes.io/f': 'unknown',
    };
    expect(baseline({ containers: [c('e'), c('f')] }, annotations)).toEqual([
      'forbidden AppArmor profiles (annotations must not set AppArmor profile type to ' +
        '"container.apparmor.security.beta.kubernetes.io/e="unconfined"", "container.apparmor.security.beta.kubernetes.io/f="unknown"")',
    ]);
    expect(
      baseline(
        { securityContext: { appArmorProfile: { type: 'Unconfined' } }, containers: [c('e')] },
        { 'container.apparmor.security.beta.kubernetes.io/e': 'unconfined' },
      ),
    ).toEqual([
      'forbidden AppArmor profiles (pod and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/e="unconfined"")',
    ]);
  });

  it('seLinuxOptions: the container types (container_engine_t since 1.31) pass; other types, user and role are refused', () => {
    for (const type of ['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t', ''])
      expect(baseline({ securityContext: { seLinuxOptions: { type, level: 's0:c1' } }, containers: [c('a', { seLinuxOptions: { type } })] })).toEqual([]);
    expect(baseline({ securityContext: { seLinuxOptions: { type: 'spc_t' } }, containers: [c('a')] })).toEqual([
      'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t")',
    ]);
    const spec: PodSpec = {
      securityContext: { seLinuxOptions: { user: 'system_u' } },
      initContainers: [c('i', { seLinuxOptions: { role: 'system_r' } })],
      containers: [c('a', { seLinuxOptions: { type: 'unconfined_t' } }), c('b', { seLinuxOptions: { type: 'spc_t' } })],
    };
    expect(baseline(spec)).toEqual([
      'seLinuxOptions (pod and containers "i", "a", "b" set forbidden securityContext.seLinuxOptions: types "spc_t", "unconfined_t"; user may not be set; role may not be set)',
    ]);
  });

  it('hostProcess: true at pod or container level is refused, false passes', () => {
    expect(baseline({ securityContext: { windowsOptions: { hostProcess: false } }, containers: [c('a', { windowsOptions: { hostProcess: false } })] })).toEqual(
      [],
    );
    expect(
      baseline({ securityContext: { windowsOptions: { hostProcess: true } }, containers: [c('a'), c('b', { windowsOptions: { hostProcess: true } })] }),
    ).toEqual(['hostProcess (pod and container "b" must not set securityContext.windowsOptions.hostProcess=true)']);
  });

  it('groups containers of every kind in one list, and sorts capabilities and hostPorts', () => {
    const spec = {
      initContainers: [c('init', { capabilities: { add: ['SYS_ADMIN'] } }, { ports: [{ containerPort: 1, hostPort: 8080 }] })],
      containers: [c('a', { capabilities: { add: ['NET_ADMIN', 'CHOWN'] }, privileged: true }, { ports: [{ containerPort: 2, hostPort: 80 }] })],
      ephemeralContainers: [c('dbg', { privileged: true, procMount: 'Unmasked' })],
    } as PodSpec;
    expect(baseline(spec)).toEqual([
      'non-default capabilities (containers "init", "a" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add)',
      'hostPort (containers "init", "a" use hostPorts 80, 8080)',
      'privileged (containers "a", "dbg" must not set securityContext.privileged=true)',
      'procMount (container "dbg" must not set securityContext.procMount to "Unmasked")',
    ]);
  });

  it('seccomp at baseline: only an explicit profile other than RuntimeDefault/Localhost, pod and containers together', () => {
    expect(baseline({ containers: [c('a', { seccompProfile: { type: 'Localhost', localhostProfile: 'p' } })] })).toEqual([]);
    expect(baseline({ securityContext: { seccompProfile: { type: 'Unconfined' } }, containers: [c('a', { seccompProfile: { type: 'Unconfined' } })] })).toEqual(
      ['seccompProfile (pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined")'],
    );
  });

  it('sysctls: the 1.32 safe set (tcp_rmem, tcp_wmem included) passes; others are listed in order', () => {
    const sysctls = (...names: string[]) => ({ securityContext: { sysctls: names.map((name) => ({ name, value: '1' })) }, containers: [c('a')] });
    expect(baseline(sysctls('net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem', 'net.ipv4.tcp_keepalive_time'))).toEqual([]);
    expect(baseline(sysctls('kernel.msgmax', 'net.core.somaxconn'))).toEqual(['forbidden sysctls (kernel.msgmax, net.core.somaxconn)']);
  });

  it('restricted: hostPath is a restricted volume type (not a second hostPath violation); unknown sources too', () => {
    const spec = restrictedPod({
      volumes: [
        { name: 'h', hostPath: { path: '/' } },
        { name: 'n', nfs: { server: 's', path: '/' } },
        { name: 'ok', emptyDir: {} },
      ],
    });
    expect(baseline(spec)).toEqual(['hostPath volumes (volume "h")']);
    expect(violations('restricted', spec)).toEqual(['restricted volume types (volumes "h", "n" use restricted volume types "hostPath", "nfs")']);
    expect(violations('restricted', restrictedPod({ volumes: [{ name: 'x' }] }))).toEqual([
      'restricted volume types (volume "x" uses restricted volume type "unknown")',
    ]);
  });

  it('restricted: capabilities and seccomp replace the baseline checks; pod and containers are named together', () => {
    const spec = restrictedPod({
      securityContext: { runAsNonRoot: false, runAsUser: 0, seccompProfile: { type: 'Unconfined' } },
      containers: [
        c('a', { ...good, capabilities: { drop: ['ALL'], add: ['SYS_ADMIN', 'NET_BIND_SERVICE'] }, runAsNonRoot: false, runAsUser: 0 }),
        c('b', { ...good }),
      ],
    });
    expect(violations('restricted', spec)).toEqual([
      'unrestricted capabilities (container "a" must not include "SYS_ADMIN" in securityContext.capabilities.add)',
      'runAsNonRoot != true (pod and container "a" must not set securityContext.runAsNonRoot=false)',
      'runAsUser=0 (pod and container "a" must not set runAsUser=0)',
      'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
    ]);
  });

  it('restricted: a Windows pod is exempt from allowPrivilegeEscalation, capabilities and seccomp, not from runAsNonRoot', () => {
    const spec: PodSpec = { os: { name: 'windows' }, containers: [c('w')] };
    expect(violations('restricted', spec)).toEqual(['runAsNonRoot != true (pod or container "w" must set securityContext.runAsNonRoot=true)']);
  });

  it('restricted: a pod-level seccomp profile covers containers that set none; an empty procMount is not Default', () => {
    const spec = restrictedPod({ containers: [c('a', good), c('b', { ...good, seccompProfile: { type: 'RuntimeDefault' } })] });
    expect(violations('restricted', spec)).toEqual([]);
    expect(baseline({ containers: [c('a', { procMount: '' })] })).toEqual(['procMount (container "a" must not set securityContext.procMount to "")']);
  });
});
