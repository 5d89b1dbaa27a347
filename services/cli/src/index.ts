/** What other programs (kemu chaos, the end-to-end suites) use of the CLI: a cluster, and its services' supervision. */
export { Cluster, DNS_SERVICE_IP, KemuError, type ClusterOptions, type ServiceState } from './cluster.js';
export { parseRestart, type RestartPolicy } from './restart-policy.js';
