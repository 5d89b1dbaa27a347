/**
 * Which Ingresses this controller serves, as ingress-nginx decides it: an
 * Ingress naming an IngressClass is served when that class names our
 * controller; the deprecated `kubernetes.io/ingress.class` annotation is
 * compared with our class name; an Ingress with neither is served when our
 * class is the cluster's default (the api-server of a real cluster would have
 * written the default class into it at creation; ours does not, so the
 * controller reads the default itself) or when told to watch Ingresses
 * without a class.
 *
 * A controller of before IngressClass (the 0.x releases of the quay.io
 * image, `legacy`) knew only the annotation: an Ingress is its own when the
 * annotation names its --ingress-class, or when it has none and that class
 * is `nginx` (the default class); spec.ingressClassName and IngressClass
 * objects mean nothing to it. Pure.
 */
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';

/** The annotation that marks the cluster's default IngressClass. */
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
/** The class annotation that predates spec.ingressClassName. */
export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export interface ClassOptions {
  /** spec.controller of the IngressClasses we implement (k8s.io/ingress-nginx). */
  controllerClass: string;
  /** The class name the legacy annotation must carry (nginx). */
  ingressClass: string;
  /** Serve Ingresses without any class even when no class of ours is the default. */
  watchWithoutClass: boolean;
  /** A release of before IngressClass: the annotation alone decides. */
  legacy?: boolean;
}

/** The class a controller of before IngressClass took Ingresses without the annotation for. */
export const LEGACY_DEFAULT_CLASS = 'nginx';

const isDefault = (c: IngressClass) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true';

/** Whether `ing` is ours, given the cluster's IngressClasses. */
export function isServed(ing: Ingress, classes: readonly IngressClass[], o: ClassOptions): boolean {
  if (o.legacy) {
    const annotated = ing.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION] ?? '';
    return annotated === o.ingressClass || (annotated === '' && o.ingressClass === LEGACY_DEFAULT_CLASS);
  }
  const named = ing.spec?.ingressClassName;
  if (named) return classes.some((c) => c.metadata?.name === named && c.spec?.controller === o.controllerClass);
  const legacy = ing.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined) return legacy === o.ingressClass;
  return o.watchWithoutClass || classes.some((c) => isDefault(c) && c.spec?.controller === o.controllerClass);
}
