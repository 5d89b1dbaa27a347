/**
 * The REST front of the api-server: authentication, routing, and each verb
 * on each resource, answering Kubernetes' JSON (objects, lists, Tables,
 * Status). A request can fail in any way without harming the process.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { decodeProtobuf, PROTOBUF } from '../protobuf/decode.js';
import {
  badRequest,
  methodNotAllowed,
  StatusError,
  unauthorized,
  groupVersion,
  lookupResource,
  deprecationWarning,
  type DeleteOptions,
  type KubeObject,
} from '@kemu/api';
import type { RestStore } from '../registry/rest.js';
import { patchResource, patchTypeOf, parsePatch } from '../registry/patch.js';
import { bindPod, getScale, updateScale } from '../registry/subresources.js';
import { authenticateRequest, presentedBadCertificate, PUBLIC_PATHS, type TokenAuthenticator, type UserInfo } from './auth.js';
import { readBody } from './body.js';
import { parseJsonBody } from '../encoding/json.js';
import { parseYamlBody } from '../encoding/yaml.js';
import { aggregatedList, aggregatedWanted, AGGREGATED_V2, AGGREGATED_V2BETA1, apiGroup, apiGroupList, apiResourceList, apiVersions } from './discovery.js';
import { unknownFields } from '../openapi/index.js';
import { serveOpenapi } from '../openapi/serve.js';
import { listOf, sendJson, sendStatus, sendText, tableWanted, toTable, type IncludeObject } from './respond.js';
import { parseRoute, type ResourceRequest } from './route.js';
import { queryBool } from './query.js';
import { sendInitialEventsOf } from './list-options.js';
import { serveWatch } from './watch.js';
import type { ServiceAccountTokens } from '../auth/service-account-tokens.js';
import { KUBELET_SUBRESOURCES, kubeletTarget, nodeProxyTarget, refuseUpgrade, relayRequest, relayUpgrade, type KubeletClientCert } from './kubelet-proxy.js';
import type { Duplex } from 'node:stream';
import { ANONYMOUS, Authorizer, refusal } from '../authz/authorizer.js';
import { nonResourceAttributes, resourceAttributes } from '../authz/attributes.js';
import { impersonatedUser } from '../authz/impersonation.js';
import type { RequestAttributes } from '../authz/rbac.js';
import { runAs } from '../authz/request-user.js';
import { answerReview, reviewDepsOf } from '../authz/reviews.js';
import { addAuditAnnotation, requestContext } from './request-context.js';
import type { Logger } from 'pino';

export interface HandlerDeps {
  rest: RestStore;
  saTokens?: ServiceAccountTokens;
  kubeletClient?: KubeletClientCert;
  /** The bearer-token authenticators (static, bootstrap, service account). */
  authn: TokenAuthenticator;
  serverAddress: string;
  ready: () => Promise<{ ok: boolean; checks: [string, boolean][] }>;
  /** The Prometheus exposition GET /metrics answers. */
  metrics: () => Promise<{ contentType: string; body: string }>;
  onRequest: (verb: string, resource: string, code: number, seconds: number) => void;
  onWatchCount: (delta: number) => void;
  version: object;
  /** Told of errors that are not a Kubernetes Status (a bug, or a failing etcd): they answer 500. */
  log?: Logger;
}

const notFoundPath = () =>
  new StatusError(404, 'NotFound', 'the server could not find the requested resource', {
    causes: [{ reason: 'UnexpectedServerResponse', message: '404 page not found' }],
  });

/**
 * Who the request acts as, or a 401: a valid credential's user (or the user it impersonates); without one, only the
 * public paths are served, to system:anonymous (kube-apiserver with anonymous auth limited to its health and version
 * endpoints). A wrong credential is a 401 even there.
 */
async function requestUser(deps: HandlerDeps, authorizer: Authorizer, req: IncomingMessage, path: string): Promise<UserInfo> {
  const caller = await authenticateRequest(req, deps.authn);
  const ctx = requestContext(req);
  if (!caller) {
    if (req.headers.authorization || presentedBadCertificate(req) || !PUBLIC_PATHS.has(path)) throw unauthorized();
    return (ctx.user = ANONYMOUS);
  }
  const as = impersonatedUser(req.headersDistinct, caller, (u, a) => authorizer.authorize(u, a));
  if (as) ctx.impersonatedBy = caller;
  return (ctx.user = as ?? caller);
}

function authorizeRequest(authorizer: Authorizer, req: IncomingMessage, user: UserInfo, a: RequestAttributes): void {
  const ctx = requestContext(req);
  ctx.verb = a.verb;
  if (a.resourceRequest)
    Object.assign(ctx, {
      apiGroup: a.apiGroup,
      apiVersion: a.apiVersion,
      resource: a.resource,
      subresource: a.subresource,
      namespace: a.namespace,
      name: a.name,
    });
  const d = authorizer.authorize(user, a);
  ctx.authorization = { allowed: d.allowed, reason: d.reason };
  if (!d.allowed) throw refusal(user, a, d.reason);
}

export function createHandler(deps: HandlerDeps) {
  const authorizer = new Authorizer(deps.rest.caches);
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    let verb = req.method ?? 'GET';
    let resource = '';
    res.on('finish', () => deps.onRequest(verb, resource, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9));
    try {
      const url = new URL(req.url ?? '/', 'https://kemu');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      const user = await requestUser(deps, authorizer, req, path);
      const route = parseRoute(path);
      if (route.kind === 'resource') {
        authorizeRequest(authorizer, req, user, resourceAttributes(req.method ?? 'GET', route.req, queryBool(url.searchParams, 'watch')));
      } else authorizeRequest(authorizer, req, user, nonResourceAttributes(req.method ?? 'GET', url.pathname));
      if (path === '/healthz' || path === '/livez') return sendText(res, 200, 'ok');
      if (path === '/readyz') {
        const r = await deps.ready();
        if (url.searchParams.has('verbose')) {
          const lines = r.checks.map(([n, ok]) => `[${ok ? '+' : '-'}]${n} ${ok ? 'ok' : 'failed'}`);
          return sendText(res, r.ok ? 200 : 503, `${lines.join('\n')}\nreadyz check ${r.ok ? 'passed' : 'failed'}\n`);
        }
        return sendText(res, r.ok ? 200 : 503, r.ok ? 'ok' : 'readyz check failed');
      }
      if (path === '/version') return sendJson(res, 200, deps.version);
      if (path === '/metrics') {
        const { contentType, body } = await deps.metrics();
        return sendText(res, 200, body, contentType);
      }
      if (path === '/api' || path === '/apis') {
        const agg = aggregatedWanted(req.headers.accept);
        if (agg) return sendJson(res, 200, aggregatedList(path === '/api', agg), agg === 'v2' ? AGGREGATED_V2 : AGGREGATED_V2BETA1);
        return sendJson(res, 200, path === '/api' ? apiVersions(deps.serverAddress) : apiGroupList());
      }
      if (path === '/openapi/v2' || path === '/openapi/v3' || path.startsWith('/openapi/v3/')) {
        if (!serveOpenapi(req, res, path, url.searchParams)) throw notFoundPath();
        return;
      }
      if (route.kind === 'group') {
        const g = apiGroup(route.group);
        if (!g) throw notFoundPath();
        return sendJson(res, 200, g);
      }
      if (route.kind === 'groupVersion') {
        const list = apiResourceList(route.group, route.version);
        if (!list) throw notFoundPath();
        return sendJson(res, 200, list);
      }
      if (route.kind !== 'resource') throw notFoundPath();
      resource = route.req.info.resource;
      const warn = (m: string) => res.appendHeader('Warning', `299 - ${JSON.stringify(m)}`);
      const annotate = (key: string, value: string) => addAuditAnnotation(req, key, value);
      verb = await runAs(user, () => serveResource({ ...deps, authorizer, user }, route.req, url.searchParams, req, res), warn, annotate);
    } catch (e) {
      if (!(e instanceof StatusError)) deps.log?.warn({ err: e, method: req.method, url: req.url }, 'request failed');
      sendStatus(res, e);
    }
  };
  /** An HTTP upgrade: exec, attach, port-forward (and pods/proxy) go to the pod's kubelet. */
  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', () => undefined);
    try {
      const url = new URL(req.url ?? '/', 'https://kemu');
      const path = url.pathname.replace(/\/+$/, '');
      const user = await requestUser(deps, authorizer, req, path);
      const route = parseRoute(path);
      if (
        route.kind !== 'resource' ||
        route.req.info.resource !== 'pods' ||
        !route.req.name ||
        !route.req.namespace ||
        !['exec', 'attach', 'portforward', 'proxy'].includes(route.req.subresource ?? '')
      ) {
        throw badRequest('only pods/exec, pods/attach, pods/portforward and pods/proxy can be upgraded');
      }
      // exec, attach and port-forward need `create` whatever the method (kube-apiserver checks it for WebSocket GETs too).
      const a = resourceAttributes(req.method ?? 'GET', route.req, false);
      if (a.resourceRequest && route.req.subresource !== 'proxy') a.verb = 'create';
      authorizeRequest(authorizer, req, user, a);
      if (!deps.kubeletClient)
        throw new StatusError(503, 'ServiceUnavailable', 'this api-server has no kubelet client certificate (--kubelet-client-certificate)');
      const t = await kubeletTarget(deps.rest, route.req.namespace, route.req.name, route.req.subresource!, url.searchParams, route.req.proxyPath);
      relayUpgrade(t, deps.kubeletClient, req, socket, head);
    } catch (e) {
      if (!(e instanceof StatusError)) deps.log?.warn({ err: e, url: req.url }, 'upgrade failed');
      refuseUpgrade(socket, e);
    }
  };
  return Object.assign(serve, { upgrade });
}

function reviewDeps(deps: ResourceDeps) {
  return reviewDepsOf(deps.authorizer, deps.authn);
}

function deleteOptionsFrom(q: URLSearchParams, body: string): DeleteOptions {
  const opts: DeleteOptions = body.trim() ? (parseJsonBody(body) as DeleteOptions) : {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw badRequest('DeleteOptions must be an object');
  if (q.has('gracePeriodSeconds')) opts.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
  if (q.has('propagationPolicy')) opts.propagationPolicy = q.get('propagationPolicy') as DeleteOptions['propagationPolicy'];
  if (q.get('dryRun') === 'All') opts.dryRun = ['All'];
  if (opts.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
    throw badRequest(`propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`);
  }
  return opts;
}

/** Decode a create/update body: JSON, YAML when the client says so, or Kubernetes protobuf (kubectl's typed clients). */
function decodeObject(req: IncomingMessage, body: Buffer): KubeObject {
  const ct = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim();
  let obj: unknown;
  const text = ct === PROTOBUF ? '' : body.toString('utf8');
  if (ct === PROTOBUF) {
    if (process.env.KEMU_DEBUG_PROTOBUF_DIR) writeFileSync(`${process.env.KEMU_DEBUG_PROTOBUF_DIR}/${Date.now()}.bin`, body);
    obj = decodeProtobuf(body);
  } else if (ct === 'application/yaml' || ct === 'application/x-yaml') obj = parseYamlBody(text);
  else if (ct === 'application/json' || ct === '' || ct === '*/*') obj = parseJsonBody(text);
  else
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
    );
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw badRequest("Object 'Kind' is missing in the request body");
  const o = obj as KubeObject;
  if (o.metadata !== undefined && (typeof o.metadata !== 'object' || o.metadata === null || Array.isArray(o.metadata))) {
    throw badRequest('metadata must be an object');
  }
  o.metadata ??= {};
  return o;
}

function checkKind(r: ResourceRequest, obj: KubeObject, expected = { apiVersion: groupVersion(r.info), kind: r.info.kind }): void {
  if (obj.apiVersion && obj.apiVersion !== expected.apiVersion) {
    throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected.apiVersion})`);
  }
  if (obj.kind && obj.kind !== expected.kind) {
    throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${expected.kind})`);
  }
}

/** Strict / Warn / Ignore handling of unknown fields (Kubernetes' fieldValidation). */
function fieldValidation(r: ResourceRequest, q: URLSearchParams, obj: unknown, res: ServerResponse): void {
  const mode = q.get('fieldValidation') ?? 'Warn';
  if (mode === 'Ignore') return;
  if (!['Strict', 'Warn'].includes(mode)) throw badRequest(`fieldValidation: Unsupported value: "${mode}": supported values: "Ignore", "Strict", "Warn"`);
  const unknown = unknownFields(r.info, obj).filter((f) => f !== 'status' || r.subresource === 'status');
  if (!unknown.length) return;
  if (mode === 'Strict') throw badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
  res.setHeader(
    'Warning',
    unknown.map((f) => `299 - "unknown field \\"${f}\\""`),
  );
}

type ResourceDeps = HandlerDeps & { authorizer: Authorizer; user: UserInfo };

async function serveResource(deps: ResourceDeps, r: ResourceRequest, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<string> {
  const { rest } = deps;
  const { info, namespace: ns, name, subresource: sub } = r;
  const method = req.method ?? 'GET';
  const dryRun = q.get('dryRun') === 'All';
  const table = tableWanted(req.headers.accept);
  const include = (q.get('includeObject') ?? 'Metadata') as IncludeObject;
  // Every request to a version Kubernetes deprecated got this warning while kube-apiserver still served it (such a
  // version has no unknown fields to warn of: fieldValidation sets no other Warning).
  const deprecation = deprecationWarning(info);
  if (deprecation) res.setHeader('Warning', `299 - "${deprecation}"`);
  if (sub && !info.subresources.includes(sub as never) && !(info.storage === 'namespaces' && sub === 'finalize')) throw notFoundPath();
  if (sub && info.resource === 'pods' && KUBELET_SUBRESOURCES.includes(sub) && ns && name) {
    if (sub !== 'log' && sub !== 'proxy') throw badRequest('Upgrade request required');
    if (!deps.kubeletClient)
      throw new StatusError(503, 'ServiceUnavailable', 'this api-server has no kubelet client certificate (--kubelet-client-certificate)');
    await relayRequest(await kubeletTarget(deps.rest, ns, name, sub, q, r.proxyPath), deps.kubeletClient, req, res);
    return sub === 'log' ? 'GET' : 'CONNECT';
  }
  if (sub === 'proxy' && info.resource === 'nodes' && name && deps.kubeletClient) {
    await relayRequest(await nodeProxyTarget(deps.rest, name, q, r.proxyPath), deps.kubeletClient, req, res);
    return 'CONNECT';
  }
  if (sub && (KUBELET_SUBRESOURCES.includes(sub) || (sub === 'token' && !deps.saTokens))) {
    throw new StatusError(503, 'ServiceUnavailable', `${info.resource}/${sub} is not served by this cluster`);
  }
  if (info.namespaced && name && !ns) throw notFoundPath();
  const watching = r.legacyWatch || queryBool(q, 'watch');
  const sendInitialEvents = method === 'GET' && (watching || !name) ? sendInitialEventsOf(q, watching) : undefined;

  if (method === 'GET' && (watching || !name)) {
    const selectors = { labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined };
    if (watching) {
      if (name) selectors.fieldSelector = [selectors.fieldSelector, `metadata.name=${name}`].filter(Boolean).join(',');
      await serveWatch(
        rest,
        info,
        ns,
        {
          ...selectors,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          timeoutSeconds: q.has('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : undefined,
          allowBookmarks: queryBool(q, 'allowWatchBookmarks'),
          sendInitialEvents,
          table,
          includeObject: include,
        },
        req,
        res,
        deps.onWatchCount,
      );
      return 'WATCH';
    }
    const limit = q.has('limit') ? Number(q.get('limit')) : undefined;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw badRequest(`invalid limit: ${q.get('limit')}`);
    const list = await rest.list(info, ns, { ...selectors, limit, continue: q.get('continue') ?? undefined });
    sendJson(res, 200, table ? toTable(info, list.items, list, table, include) : listOf(info, list.items, list));
    return 'LIST';
  }
  if (method === 'GET') {
    const obj = sub === 'scale' ? await getScale(rest, info, ns, name!) : await rest.get(info, ns, name!);
    sendJson(res, 200, table && !sub ? toTable(info, [obj], { resourceVersion: obj.metadata.resourceVersion }, table, include) : obj);
    return 'GET';
  }
  const raw = await readBody(req);
  const body = raw.toString('utf8');
  if (method === 'POST') {
    const obj = decodeObject(req, raw);
    if (sub === 'binding' || info.resource === 'bindings') {
      checkKind(r, obj, { apiVersion: 'v1', kind: 'Binding' });
      if (sub && obj.metadata.name && obj.metadata.name !== name) throw badRequest('name in the Binding does not match the pod');
      const podInfo = lookupResource('', 'v1', 'pods')!;
      await bindPod(rest, podInfo, ns, { ...obj, metadata: { ...obj.metadata, name: name ?? obj.metadata.name } }, new Date());
      sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      return 'CREATE';
    }
    if (sub === 'token' && name && deps.saTokens) {
      checkKind(r, obj, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest' });
      sendJson(res, 201, await deps.saTokens.issue(ns!, name, obj));
      return 'CREATE';
    }
    if (sub === 'eviction' && name) {
      // The Eviction API (kubectl drain): no PodDisruptionBudgets are served, so every eviction is allowed.
      checkKind(r, obj, { apiVersion: obj.apiVersion === 'policy/v1beta1' ? 'policy/v1beta1' : 'policy/v1', kind: 'Eviction' });
      await rest.delete(info, ns, name, (obj.deleteOptions ?? {}) as DeleteOptions);
      sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      return 'CREATE';
    }
    if (name) throw methodNotAllowed(info.resource, info.group, 'create');
    if (!info.verbs.includes('create')) throw methodNotAllowed(info.resource, info.group, 'create');
    checkKind(r, obj);
    if (info.virtual) {
      sendJson(res, 201, await answerReview(reviewDeps(deps), info, ns, obj, deps.user));
      return 'CREATE';
    }
    fieldValidation(r, q, obj, res);
    const created = await rest.create(info, ns, obj, { dryRun });
    sendJson(res, 201, created);
    return 'CREATE';
  }
  if (method === 'PUT') {
    if (!name) throw methodNotAllowed(info.resource, info.group, 'update');
    const obj = decodeObject(req, raw);
    if (sub === 'scale') {
      checkKind(r, obj, { apiVersion: 'autoscaling/v1', kind: 'Scale' });
      sendJson(res, 200, await updateScale(rest, info, ns, name, { scale: obj }, dryRun));
      return 'UPDATE';
    }
    checkKind(r, obj);
    fieldValidation(r, q, obj, res);
    sendJson(res, 200, await rest.update(info, ns, name, obj, sub, { dryRun }));
    return 'UPDATE';
  }
  if (method === 'PATCH') {
    if (!name) throw methodNotAllowed(info.resource, info.group, 'patch');
    const type = patchTypeOf(req.headers['content-type']);
    const patch = parsePatch(type, body);
    if (type !== 'application/json-patch+json') fieldValidation(r, q, patch, res);
    if (sub === 'scale') {
      sendJson(res, 200, await updateScale(rest, info, ns, name, { patchType: type, patch }, dryRun));
      return 'PATCH';
    }
    sendJson(res, 200, await patchResource(rest, info, ns, name, type, patch, sub, { dryRun, force: queryBool(q, 'force') }));
    return 'PATCH';
  }
  if (method === 'DELETE') {
    const opts = deleteOptionsFrom(q, body);
    if (!name) {
      if (!info.verbs.includes('deletecollection')) throw methodNotAllowed(info.resource, info.group, 'deletecollection');
      const items = await rest.deleteCollection(
        info,
        ns,
        { labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined },
        opts,
      );
      sendJson(res, 200, listOf(info, items, { resourceVersion: '' }));
      return 'DELETECOLLECTION';
    }
    const out = await rest.delete(info, ns, name, opts);
    // 202 when the object is not gone yet (grace period or finalizers), as Kubernetes.
    sendJson(res, out.metadata.deletionTimestamp && !opts.dryRun ? 202 : 200, out);
    return 'DELETE';
  }
  throw methodNotAllowed(info.resource, info.group, method.toLowerCase());
}
