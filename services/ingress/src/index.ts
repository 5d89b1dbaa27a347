/** @kemu/ingress — an Ingress controller in the manner of ingress-nginx, driving Debian's real nginx. */
export { start, type IngressOptions, type RunningIngress } from './ingress.js';
export { IngressController, type ControllerOptions, type Informers } from './controller.js';
export { ConfigApplier, ConfigTestError, type Applied } from './applier.js';
export { Nginx, ensureFakeCertificate, type NginxOptions, type TestResult } from './nginx.js';
export { render, sslDir, type Rendered, type RenderOptions } from './config/render.js';
export {
  buildModel,
  annotation,
  CATCH_ALL,
  DEFAULT_ANNOTATIONS_PREFIX,
  type ClusterState,
  type Model,
  type ModelOptions,
  type Problem,
  type Server,
} from './config/model.js';
export { renderConf, serverName, type Conf, type ConfOptions } from './config/nginx-conf.js';
export { locationsFor, normalizePath, pathProblem, usesRegex, type Location, type PathType, type Route } from './config/locations.js';
export { resolveBackend, upstreamName, type BackendIndex, type Resolution, type Target } from './config/backends.js';
export { certificateFile, type CertResolution, type PemFile } from './config/tls.js';
export { isServed, DEFAULT_CLASS_ANNOTATION, LEGACY_CLASS_ANNOTATION, LEGACY_DEFAULT_CLASS, type ClassOptions } from './config/classes.js';
export { nodeAddresses, publishedAddresses, statusUpdates } from './status.js';
export { DEFAULT_SETTINGS, parseSettings, type ParsedSettings, type Settings } from './config/settings.js';
export { IngressMetrics } from './metrics.js';
