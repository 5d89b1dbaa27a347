/** @kemu/apiserver — a Kubernetes API server on a real etcd. */
export { start, VERSION, type ApiServer, type ApiServerState } from './server.js';
export { compileOptions, type ApiServerOptions, type CompiledOptions } from './options.js';
export { parseTokenFile, type UserInfo } from './http/auth.js';
