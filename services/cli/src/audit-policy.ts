/**
 * The cluster's audit policy: a file in the state directory that the api-server reads at start
 * (--audit-policy-file), as kubeadm clusters keep theirs on the control-plane host. `kemu init` writes kemu's
 * default when there is none: every request at Metadata, without the RequestReceived stage, but the cluster's own
 * heartbeats (kube-apiserver audits nothing without a policy; kemu's cluster audits by default). A user edits it and restarts the api-server
 * (`kemu stop apiserver && kemu start apiserver`); one that does not parse stops the api-server with the reason in
 * its log, as kube-apiserver refuses to start.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const AUDIT_POLICY_FILE = 'audit-policy.yaml';

export const DEFAULT_AUDIT_POLICY = `# The api-server's audit policy (audit.k8s.io/v1 Policy, --audit-policy-file), read when it starts.
# kemu's default: every request at Metadata (who, what, when, the answer's code), without RequestReceived, except the
# cluster's own heartbeats, dropped as Kubernetes' GCE default policy drops such high-volume, low-risk requests: the
# kubelets reading their Node and renewing their Leases, the leaders renewing theirs (every second or two under the
# fast profile: nine in ten events of an idle cluster), and health and version probes.
# Edit it and restart the api-server: kemu stop apiserver && kemu start apiserver. kemu logs audit prints the log.
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
  - RequestReceived
rules:
  - level: None
    userGroups: ["system:nodes"]
    verbs: ["get", "update"]
    resources:
      - group: coordination.k8s.io
        resources: ["leases"]
      - group: ""
        resources: ["nodes", "nodes/status"]
  - level: None
    users:
      - system:kube-controller-manager
      - system:kube-scheduler
      - system:serviceaccount:ingress-nginx:ingress-nginx
    verbs: ["get", "update"]
    resources:
      - group: coordination.k8s.io
        resources: ["leases"]
  - level: None
    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"]
  - level: Metadata
`;

/** Write the default policy into the state directory unless a policy is there already. */
export function ensureAuditPolicy(state: string): void {
  const file = join(state, AUDIT_POLICY_FILE);
  if (!existsSync(file)) writeFileSync(file, DEFAULT_AUDIT_POLICY, { mode: 0o644 });
}
