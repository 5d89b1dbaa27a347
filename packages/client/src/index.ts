/** @kemu/client — how the cluster's components talk to the api-server. */
export { ApiClient, fromGrpcError, type ApiClientOptions, type ResourceId, type ListResult } from './api-client.js';
