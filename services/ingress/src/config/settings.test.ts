/**
 * The controller's ConfigMap: ingress-nginx's keys and defaults, refused
 * values and unknown keys, and what they become in nginx.conf (tested by
 * the real nginx in nginx.test.ts for the defaults; here the text).
 */
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { cluster, ingress, OPTIONS, path, rule, service, tlsSecret } from '../testing/objects.js';
import { render } from './render.js';
import { DEFAULT_SETTINGS, parseSettings } from './settings.js';

const cm = (data: Record<string, string>): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'nginx-configuration', namespace: 'x' },
  data,
});

describe('parseSettings', () => {
  it("has ingress-nginx's defaults without a ConfigMap or with an empty one", () => {
    expect(parseSettings(undefined)).toEqual({ settings: DEFAULT_SETTINGS, unknown: [], invalid: [] });
    expect(parseSettings(cm({})).settings).toEqual(DEFAULT_SETTINGS);
  });

  it('reads the keys it knows, as ingress-nginx spells their values', () => {
    const s = parseSettings(
      cm({
        'proxy-body-size': '8m',
        'proxy-read-timeout': '120',
        'proxy-send-timeout': '30s',
        'ssl-redirect': 'false',
        'use-forwarded-headers': 'True',
        'enable-underscores-in-headers': '1',
        'server-tokens': 'true',
        'keep-alive': '10',
        'proxy-buffering': 'on',
        'worker-processes': '2',
      }),
    );
    expect(s.unknown).toEqual([]);
    expect(s.invalid).toEqual([]);
    expect(s.settings).toMatchObject({
      proxyBodySize: '8m',
      proxyReadTimeout: 120,
      proxySendTimeout: 30,
      sslRedirect: false,
      useForwardedHeaders: true,
      enableUnderscoresInHeaders: true,
      serverTokens: true,
      keepAlive: 10,
      proxyBuffering: true,
      workerProcesses: '2',
    });
  });

  it('keeps the default for a value nginx could not take, and lists the keys it does not know', () => {
    const s = parseSettings(cm({ 'proxy-body-size': '1m; evil', 'ssl-redirect': 'maybe', 'hsts-max-age': '1', 'log-format-upstream': 'x' }));
    expect(s.settings).toEqual(DEFAULT_SETTINGS);
    expect(s.unknown).toEqual(['hsts-max-age', 'log-format-upstream']);
    expect(s.invalid.map((i) => i.key)).toEqual(['proxy-body-size', 'ssl-redirect']);
  });
});

describe('render with the ConfigMap', () => {
  const web = service('web', ['10.244.1.1']);
  const state = (data: Record<string, string>) => ({
    ...cluster({
      ingresses: [ingress('tls', { tls: [{ hosts: ['s.example'], secretName: 'tls' }], rules: [rule('s.example', path('/', 'web'))] })],
      backends: [web],
      secrets: [tlsSecret('tls')],
    }),
    configMap: cm(data),
  });

  it('renders the defaults as before when the ConfigMap is empty', () => {
    expect(render(state({}), OPTIONS).config).toBe(render({ ...state({}), configMap: undefined }, OPTIONS).config);
  });

  it('puts the values in the http block', () => {
    const conf = render(
      state({ 'proxy-body-size': '2k', 'proxy-read-timeout': '5', 'server-tokens': 'true', 'enable-underscores-in-headers': 'true' }),
      OPTIONS,
    ).config;
    expect(conf).toContain('client_max_body_size 2k;');
    expect(conf).toContain('proxy_read_timeout 5s;');
    expect(conf).toContain('server_tokens on;');
    expect(conf).toContain('underscores_in_headers on;');
  });

  it('ssl-redirect false stops the redirect of hosts with a certificate; the annotation still asks for it', () => {
    expect(render(state({}), OPTIONS).config).toContain('return 308');
    expect(render(state({ 'ssl-redirect': 'false' }), OPTIONS).config).not.toContain('return 308');
    const annotated = state({ 'ssl-redirect': 'false' });
    const ing = annotated.ingresses[0];
    const withAnnotation = { ...ing, metadata: { ...ing.metadata, annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'true' } } };
    expect(render({ ...annotated, ingresses: [withAnnotation] }, OPTIONS).config).toContain('return 308');
  });

  it("use-forwarded-headers passes the client's X-Forwarded-* on", () => {
    const plain = render(state({}), OPTIONS).config;
    expect(plain).toContain('proxy_set_header X-Forwarded-For $remote_addr;');
    const behind = render(state({ 'use-forwarded-headers': 'true' }), OPTIONS).config;
    expect(behind).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
    expect(behind).toContain('proxy_set_header X-Forwarded-Proto $pass_access_scheme;');
    expect(behind).toContain('map $http_x_forwarded_host $best_http_host {');
  });
});
