/**
 * The controller's one decision, as a pure function: the cluster's objects
 * (Ingresses, IngressClasses, Services, EndpointSlices, Secrets, the
 * controller's ConfigMap) → the text of nginx.conf, the certificate files it
 * loads, which Ingresses it serves and which it had to leave out, with why,
 * and which keys of the ConfigMap had no effect.
 */
import { buildModel, type ClusterState, type ModelOptions, type Problem } from './model.js';
import { renderConf, type ConfOptions } from './nginx-conf.js';
import { parseSettings, type ParsedSettings } from './settings.js';
import type { PemFile } from './tls.js';

export type RenderOptions = Omit<ModelOptions, 'sslDir' | 'exclude' | 'sslRedirect'> & ConfOptions;

export interface Rendered {
  config: string;
  /** Line number → the Ingress whose configuration it is. */
  owners: Map<number, string>;
  files: PemFile[];
  served: string[];
  problems: Problem[];
  /** What the controller's ConfigMap gave: the settings, and its keys without effect. */
  settings: ParsedSettings;
}

/** Where certificate files go under the configuration directory. */
export const sslDir = (confDir: string) => `${confDir}/ssl`;

export function render(state: ClusterState, o: RenderOptions, exclude?: ReadonlyMap<string, Problem>): Rendered {
  const settings = parseSettings(state.configMap);
  const model = buildModel(state, { ...o, sslDir: sslDir(o.confDir), exclude, sslRedirect: settings.settings.sslRedirect });
  const conf = renderConf(model, o, settings.settings);
  return { config: conf.text, owners: conf.owners, files: model.files, served: model.served, problems: model.problems, settings };
}
