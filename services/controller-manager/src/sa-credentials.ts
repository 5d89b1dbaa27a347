/**
 * Per-controller credentials, as kube-controller-manager's
 * --use-service-account-credentials gives them (client-go's
 * DynamicControllerClientBuilder): every controller writes under its own
 * service account kube-system/<name>, which the manager creates when it is
 * missing, with a token from the TokenRequest API (serviceaccounts/token)
 * renewed before it expires. The manager's own identity
 * (system:kube-controller-manager) keeps the shared informers' list and
 * watch, its Lease, and the service accounts and tokens made here.
 */
import type { Logger } from 'pino';
import type { ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { TokenRequest } from 'kubernetes-types/authentication/v1.js';
import { isAlreadyExists, isNotFound, type KubeObject } from '@kemu/api';
import { ApiClient, EventRecorder, ExponentialBackoff, realClock, type ApiClientOptions, type Clock } from '@kemu/client';
import type { ControllerContext } from './context.js';

/**
 * The service account each controller runs as: Kubernetes' names
 * (cmd/kube-controller-manager/names and the ClientOrDie calls of its
 * controller descriptors). Node IPAM and taint eviction share
 * node-controller, and the CSR controllers certificate-controller, as there.
 * kemu's LoadBalancer allocator has an account of its own.
 */
export const CONTROLLER_ACCOUNTS: Readonly<Record<string, string>> = {
  deployment: 'deployment-controller',
  replicaset: 'replicaset-controller',
  replicationcontroller: 'replication-controller',
  daemonset: 'daemon-set-controller',
  garbagecollector: 'generic-garbage-collector',
  namespace: 'namespace-controller',
  serviceaccount: 'service-account-controller',
  'root-ca-cert-publisher': 'root-ca-cert-publisher',
  nodeipam: 'node-controller',
  podgc: 'pod-garbage-collector',
  nodelifecycle: 'node-controller',
  'taint-eviction-controller': 'node-controller',
  resourcequota: 'resourcequota-controller',
  endpoint: 'endpoint-controller',
  endpointslice: 'endpointslice-controller',
  endpointslicemirroring: 'endpointslicemirroring-controller',
  'service-lb-controller': 'kemu-service-lb-controller',
  'clusterrole-aggregation': 'clusterrole-aggregation-controller',
  csrapproving: 'certificate-controller',
  csrsigning: 'certificate-controller',
  csrcleaner: 'certificate-controller',
};

/** The namespace of the controllers' service accounts. */
export const NAMESPACE = 'kube-system';

/** DynamicControllerClientBuilder's defaults: tokens of an hour, renewed once 80% of their life has passed. */
export const TOKEN_EXPIRATION_SECONDS = 3600;
const LEEWAY = 0.2;

/**
 * When a token issued at `issuedMs` and expiring at `expiresMs` is renewed:
 * with a fifth of its life left, so a slow or failing renewal still has
 * minutes to retry before the controller's requests start failing with 401.
 */
export function renewAt(issuedMs: number, expiresMs: number): number {
  return expiresMs - Math.max(0, expiresMs - issuedMs) * LEEWAY;
}

const SA = { version: 'v1', resource: 'serviceaccounts', namespace: NAMESPACE };
const RETRY = { initialMs: 500, capMs: 30_000, resetAfterMs: 120_000, factor: 2, jitter: 0.2 };

interface Account {
  /** The current token; none until the first is issued. */
  token?: string;
  /** The first token: calls made before it is issued wait for it. */
  first: Promise<string>;
  gotFirst: (token: string) => void;
  stopped: (err: Error) => void;
  client: ApiClient;
  timer?: { cancel: () => void };
  backoff: ExponentialBackoff;
}

/**
 * The clients of the controllers' service accounts, one per account (the
 * controllers sharing an account share its client), each with a token that
 * is issued and then renewed in the background until `stop`.
 */
export class ServiceAccountCredentials {
  private accounts = new Map<string, Account>();
  private stopped = false;

  private makeClient: (token: () => string | Promise<string>) => ApiClient;

  /**
   * @param manager the manager's own client (system:kube-controller-manager): it may create service accounts and their tokens
   * @param connection where and how the controllers' clients connect (the manager's api-server address and CA), or
   *   how to make a client that sends the token `token()` gives (tests)
   */
  constructor(
    private manager: Pick<ApiClient, 'get' | 'create'>,
    connection: Omit<ApiClientOptions, 'token' | 'clientCert'> | ((token: () => string | Promise<string>) => ApiClient),
    private log: Logger,
    private clock: Clock = realClock,
  ) {
    this.makeClient = typeof connection === 'function' ? connection : (token) => new ApiClient({ ...connection, token });
  }

  /**
   * The client of a service account in kube-system, at once: the account (made if missing) and its first token
   * are asked for in the background, and calls wait for that token, so the controllers and the shared informers
   * start meanwhile instead of after a round of service account and TokenRequest calls.
   */
  clientFor(serviceAccount: string): ApiClient {
    let a = this.accounts.get(serviceAccount);
    if (!a) {
      a = this.open(serviceAccount);
      this.accounts.set(serviceAccount, a);
    }
    return a.client;
  }

  /**
   * A controller's context: the base one (shared informers, clock, options)
   * with the client, and an event recorder on it, of the controller's
   * account. A controller without a known account keeps the manager's
   * client, and says so, since its writes will then be refused.
   */
  contextFor(base: ControllerContext, controller: string): ControllerContext {
    const account = CONTROLLER_ACCOUNTS[controller];
    if (!account) {
      this.log.warn({ controller }, "no service account known for this controller: it runs under the manager's own identity");
      return base;
    }
    const client = this.clientFor(account);
    return { ...base, client, recorder: new EventRecorder(client, { component: 'controller-manager' }) };
  }

  /** Stop issuing and renewing, and close every client (calls still waiting for a first token fail). */
  stop(): void {
    this.stopped = true;
    for (const a of this.accounts.values()) {
      a.timer?.cancel();
      a.stopped(new Error('controller credentials stopped'));
      a.client.close();
    }
    this.accounts.clear();
  }

  private open(name: string): Account {
    let gotFirst!: (token: string) => void;
    let stopped!: (err: Error) => void;
    const first = new Promise<string>((resolve, reject) => {
      gotFirst = resolve;
      stopped = reject;
    });
    // Nobody may be waiting when it fails (stopped before any call).
    first.catch(() => undefined);
    const account: Account = {
      first,
      gotFirst,
      stopped,
      // The client reads the account's current token on every call, so a renewal needs no new connection.
      client: this.makeClient(() => account.token ?? account.first),
      backoff: new ExponentialBackoff({ ...RETRY, now: () => this.clock.now() }),
    };
    void this.renew(name, account);
    return account;
  }

  private schedule(name: string, account: Account, atMs: number): void {
    if (this.stopped) return;
    account.timer = this.clock.setTimeout(() => void this.renew(name, account), Math.max(0, atMs - this.clock.now()));
  }

  /** Issue the account's first token, or renew it; on failure try again with back-off. */
  private async renew(name: string, account: Account): Promise<void> {
    const serviceAccount = `${NAMESPACE}/${name}`;
    try {
      const { token, expiresMs } = await this.issue(name);
      if (account.token === undefined) {
        account.gotFirst(token);
        this.log.info({ serviceAccount }, 'controller credentials issued');
      }
      account.token = token;
      this.schedule(name, account, renewAt(this.clock.now(), expiresMs));
    } catch (err) {
      // A renewal starts with a fifth of the old token's life left, so it is still good meanwhile.
      const waitMs = account.backoff.next();
      const what = account.token === undefined ? 'issuing controller credentials failed' : 'renewing controller credentials failed';
      this.log.warn({ err, serviceAccount, retryInMs: Math.round(waitMs) }, what);
      this.schedule(name, account, this.clock.now() + waitMs);
    }
  }

  /**
   * A fresh token for the account: the account is made first when it is
   * missing (it may have been deleted since the last token, which the
   * api-server then no longer accepts).
   */
  private async issue(name: string): Promise<{ token: string; expiresMs: number }> {
    await this.ensureAccount(name);
    const req: TokenRequest = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: [], expirationSeconds: TOKEN_EXPIRATION_SECONDS },
    };
    const issuedMs = this.clock.now();
    const res = (await this.manager.create(SA, { ...req, metadata: {} }, { subresource: 'token', name })) as KubeObject & TokenRequest;
    const token = res.status?.token;
    if (!token) throw new Error(`TokenRequest for ${NAMESPACE}/${name} returned no token`);
    const expiresMs = Date.parse(res.status?.expirationTimestamp ?? '') || issuedMs + TOKEN_EXPIRATION_SECONDS * 1000;
    return { token, expiresMs };
  }

  private async ensureAccount(name: string): Promise<void> {
    try {
      await this.manager.get(SA, name);
      return;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const sa: ServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: NAMESPACE } };
    try {
      await this.manager.create(SA, { ...sa, metadata: { name, namespace: NAMESPACE } });
    } catch (e) {
      // Another replica of the manager (or an earlier attempt) made it first.
      if (!isAlreadyExists(e)) throw e;
    }
  }
}
