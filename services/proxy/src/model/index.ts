/**
 * kube-proxy's view of Services and their endpoints, pure: what other programs (the ingress controller) read the
 * same way, without loading the proxy and its api-server client.
 */
export { endpointString, servicePortKey, servicePortNameString, type EndpointInfo, type Protocol } from './types.js';
export { endpointsFromSlices, servicePortsFromService } from './from-k8s.js';
