/** The gRPC contract between the api-server and the cluster's components. */
export * from './gen/kemu/v1/api.js';
