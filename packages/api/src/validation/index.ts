/**
 * Validation entry points: which checks apply to which resource, on create
 * and on update. Each returns field errors; the api-server turns a non-empty
 * list into one 422 that names every cause.
 */
import type { FieldError } from '../field-errors.js';
import type { ResourceInfo } from '../registry.js';
import type { KubeObject } from '../types.js';
import { forbiddenField, invalid } from '../field-errors.js';
import { isPlainObject, jsonEqual } from '../types.js';
import { at } from '../json.js';
import { dns1035Label, dns1123Label, dns1123Subdomain } from './names.js';
import { validateObjectMeta, validateObjectMetaUpdate, type NameValidator } from './meta.js';
import { validatePodSpec, validatePodSpecUpdate } from './pod.js';
import { validateServiceSpec } from './service.js';
import {
  validateDaemonSetSpec,
  validateDeploymentSpec,
  validateReplicaSetSpec,
  validateReplicationControllerSpec,
  validateSelectorUpdate,
} from './workloads.js';
import * as other from './other.js';
import { validateNetworkPolicySpec } from './networkpolicy.js';
import { validateCertificateSigningRequest, validateCertificateSigningRequestUpdate } from './certificates.js';

/** Names any path segment may hold (events, leases and similar). */
const pathSegmentName: NameValidator = (n) => {
  if (n === '.' || n === '..') return [`may not be '${n}'`];
  if (/[/%]/.test(n)) return [`may not contain '/' or '%'`];
  return [];
};

function nameValidator(storage: string): NameValidator {
  switch (storage) {
    case 'namespaces':
      return dns1123Label;
    case 'services':
      return dns1035Label;
    // Path segments: events, leases, and RBAC names (system:coredns), as Kubernetes' ValidateRBACName.
    case 'events':
    case 'leases':
    case 'roles':
    case 'rolebindings':
    case 'clusterroles':
    case 'clusterrolebindings':
      return pathSegmentName;
    default:
      return dns1123Subdomain;
  }
}

/** Validate an object about to be created (after defaulting). */
export function validateCreate(info: ResourceInfo, obj: KubeObject): FieldError[] {
  const out = validateObjectMeta(obj.metadata, info.namespaced, nameValidator(info.storage));
  out.push(...validateBody(info, obj));
  return out;
}

function validateBody(info: ResourceInfo, obj: KubeObject): FieldError[] {
  switch (info.storage) {
    case 'pods':
      return validatePodSpec(obj.spec, 'spec', true);
    case 'services':
      return validateServiceSpec(obj.spec);
    case 'deployments':
      return validateDeploymentSpec(obj.spec);
    case 'replicasets':
      return validateReplicaSetSpec(obj.spec);
    case 'replicationcontrollers':
      return validateReplicationControllerSpec(obj.spec);
    case 'daemonsets':
      return validateDaemonSetSpec(obj.spec);
    case 'configmaps':
      return other.validateConfigMap(obj);
    case 'secrets':
      return other.validateSecret(obj);
    case 'resourcequotas':
      return other.validateResourceQuota(obj);
    case 'limitranges':
      return other.validateLimitRange(obj);
    case 'endpointslices':
      return other.validateEndpointSlice(obj);
    case 'endpoints':
      return other.validateEndpoints(obj);
    case 'ingresses':
      return other.validateIngress(obj);
    case 'networkpolicies':
      return validateNetworkPolicySpec(obj.spec);
    case 'nodes':
      return other.validateNode(obj);
    case 'events':
      return other.validateEvent(obj, obj.metadata?.namespace);
    case 'certificatesigningrequests':
      return validateCertificateSigningRequest(obj);
    default:
      return [];
  }
}

/** Validate an update of `old` into `next` (both in storage form, after defaulting). */
export function validateUpdate(info: ResourceInfo, next: KubeObject, old: KubeObject): FieldError[] {
  const out = validateObjectMetaUpdate(next.metadata ?? {}, old.metadata ?? {});
  out.push(...validateObjectMeta(next.metadata, info.namespaced, nameValidator(info.storage)));
  out.push(...validateBody(info, next));
  switch (info.storage) {
    case 'pods':
      if (isPlainObject(next.spec) && isPlainObject(old.spec)) out.push(...validatePodSpecUpdate(next.spec, old.spec));
      break;
    case 'deployments':
    case 'replicasets':
    case 'daemonsets':
      out.push(...validateSelectorUpdate(next, old));
      break;
    case 'services': {
      const ip = at(next, 'spec', 'clusterIP');
      const oldIp = at(old, 'spec', 'clusterIP');
      // Changing to ExternalName releases the IP; otherwise the IP is fixed.
      if (oldIp && ip !== undefined && ip !== '' && ip !== oldIp && at(next, 'spec', 'type') !== 'ExternalName') {
        out.push(invalid('spec.clusterIPs[0]', ip, 'may not change once set'));
      }
      break;
    }
    case 'secrets':
    case 'configmaps':
      if (old.immutable === true) {
        if (!jsonEqual(next.data, old.data) || !jsonEqual(next.binaryData, old.binaryData)) {
          out.push(forbiddenField('data', 'field is immutable when `immutable` is set'));
        }
        if (next.immutable !== true) out.push(forbiddenField('immutable', 'field is immutable when `immutable` is set'));
      }
      if (info.storage === 'secrets' && old.type && next.type !== old.type) out.push(invalid('type', next.type, 'field is immutable'));
      break;
    case 'certificatesigningrequests':
      out.push(...validateCertificateSigningRequestUpdate(next, old));
      break;
  }
  return out;
}

export { validatePodSpec } from './pod.js';
export * from './names.js';
