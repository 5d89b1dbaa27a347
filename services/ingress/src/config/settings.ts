/**
 * The controller's ConfigMap (--configmap, ingress-nginx's
 * `nginx-configuration`) → the global settings nginx.conf is rendered with.
 * The keys kemu honours take ingress-nginx's names and defaults (its
 * "ConfigMap" documentation); a value nginx could not take keeps the default,
 * as ingress-nginx does, and is reported; a key kemu does not know is
 * reported too, so a user sees which of theirs have no effect. Pure.
 */
import type { ConfigMap } from 'kubernetes-types/core/v1.js';

export interface Settings {
  /** client_max_body_size: a body over it gets 413. */
  proxyBodySize: string;
  /** Seconds. */
  proxyConnectTimeout: number;
  proxyReadTimeout: number;
  proxySendTimeout: number;
  /** proxy_buffering on/off. */
  proxyBuffering: boolean;
  /** Redirect HTTP to HTTPS on hosts with a certificate of their own (the annotation overrides it per Ingress). */
  sslRedirect: boolean;
  /** Pass the client's X-Forwarded-* headers on instead of replacing them (behind another proxy). */
  useForwardedHeaders: boolean;
  /** underscores_in_headers. */
  enableUnderscoresInHeaders: boolean;
  /** server_tokens: nginx names its version in the Server header and error pages. */
  serverTokens: boolean;
  /** keepalive_timeout with clients, in seconds. */
  keepAlive: number;
  keepAliveRequests: number;
  proxyNextUpstreamTries: number;
  /** access_log off. */
  disableAccessLog: boolean;
  /** worker_processes (a number or auto). */
  workerProcesses?: string;
}

/** ingress-nginx's defaults (v1.x; where 0.12 differed, the current one). */
export const DEFAULT_SETTINGS: Settings = {
  proxyBodySize: '1m',
  proxyConnectTimeout: 5,
  proxyReadTimeout: 60,
  proxySendTimeout: 60,
  proxyBuffering: false,
  sslRedirect: true,
  useForwardedHeaders: false,
  enableUnderscoresInHeaders: false,
  serverTokens: false,
  keepAlive: 75,
  keepAliveRequests: 1000,
  proxyNextUpstreamTries: 3,
  disableAccessLog: false,
};

export interface ParsedSettings {
  settings: Settings;
  /** Keys of the ConfigMap kemu does not implement. */
  unknown: string[];
  /** Keys whose value was refused, with why. */
  invalid: { key: string; value: string; message: string }[];
}

type Parser = (v: string) => Partial<Settings> | string;

const SIZE = /^\d+[kKmMgG]?$/;
const size =
  (field: 'proxyBodySize'): Parser =>
  (v) =>
    SIZE.test(v) ? { [field]: v } : 'a size such as 8m, 512k or 0 (no limit)';
const seconds =
  (field: 'proxyConnectTimeout' | 'proxyReadTimeout' | 'proxySendTimeout' | 'keepAlive'): Parser =>
  (v) =>
    /^\d+s?$/.test(v) ? { [field]: Number(v.replace(/s$/, '')) } : 'a number of seconds';
const count =
  (field: 'keepAliveRequests' | 'proxyNextUpstreamTries'): Parser =>
  (v) =>
    /^\d+$/.test(v) ? { [field]: Number(v) } : 'a whole number';
// Go's strconv.ParseBool, which ingress-nginx reads booleans with.
const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);
const bool =
  (field: 'sslRedirect' | 'useForwardedHeaders' | 'enableUnderscoresInHeaders' | 'serverTokens' | 'disableAccessLog'): Parser =>
  (v) =>
    TRUE.has(v) ? { [field]: true } : FALSE.has(v) ? { [field]: false } : 'true or false';

const KEYS: Record<string, Parser> = {
  'proxy-body-size': size('proxyBodySize'),
  'proxy-connect-timeout': seconds('proxyConnectTimeout'),
  'proxy-read-timeout': seconds('proxyReadTimeout'),
  'proxy-send-timeout': seconds('proxySendTimeout'),
  'proxy-buffering': (v) => (v === 'on' || v === 'off' ? { proxyBuffering: v === 'on' } : 'on or off'),
  'ssl-redirect': bool('sslRedirect'),
  'use-forwarded-headers': bool('useForwardedHeaders'),
  'enable-underscores-in-headers': bool('enableUnderscoresInHeaders'),
  'server-tokens': bool('serverTokens'),
  'keep-alive': seconds('keepAlive'),
  'keep-alive-requests': count('keepAliveRequests'),
  'proxy-next-upstream-tries': count('proxyNextUpstreamTries'),
  'disable-access-log': bool('disableAccessLog'),
  'worker-processes': (v) => (v === 'auto' || /^[1-9]\d*$/.test(v) ? { workerProcesses: v } : 'a number or auto'),
};

/** The settings a ConfigMap gives (the defaults without one). */
export function parseSettings(cm: ConfigMap | undefined): ParsedSettings {
  const out: ParsedSettings = { settings: { ...DEFAULT_SETTINGS }, unknown: [], invalid: [] };
  for (const [key, raw] of Object.entries(cm?.data ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parse = KEYS[key];
    if (!parse) {
      out.unknown.push(key);
      continue;
    }
    const value = raw.trim();
    const r = parse(value);
    if (typeof r === 'string') out.invalid.push({ key, value: raw, message: `must be ${r}` });
    else Object.assign(out.settings, r);
  }
  return out;
}
