/**
 * The watch-list options of a LIST/WATCH request (sendInitialEvents,
 * resourceVersionMatch), checked as Kubernetes' ValidateListOptions does:
 * a combination it refuses is a 422 on ListOptions.meta.k8s.io. Pure.
 */
import { forbiddenField, invalidError, notSupported, type FieldError } from '@kemu/api';
import { queryBool } from './query.js';

const NOT_OLDER_THAN = 'NotOlderThan';

/** sendInitialEvents as asked (undefined when absent), or the 422 Kubernetes gives. */
export function sendInitialEventsOf(q: URLSearchParams, watching: boolean): boolean | undefined {
  const initial = q.has('sendInitialEvents') ? queryBool(q, 'sendInitialEvents') : undefined;
  const match = q.get('resourceVersionMatch') ?? '';
  const errs: FieldError[] = [];
  if (!watching) {
    if (initial !== undefined) errs.push(forbiddenField('sendInitialEvents', 'sendInitialEvents is forbidden for list'));
  } else {
    if (initial !== undefined && match !== NOT_OLDER_THAN)
      errs.push(forbiddenField('resourceVersionMatch', `sendInitialEvents requires setting resourceVersionMatch to ${NOT_OLDER_THAN}`));
    if (match) {
      if (initial === undefined)
        errs.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
      if (match !== NOT_OLDER_THAN) errs.push(notSupported('resourceVersionMatch', match, [NOT_OLDER_THAN]));
      if (!queryBool(q, 'allowWatchBookmarks'))
        errs.push(forbiddenField('allowWatchBookmarks', 'allowWatchBookmarks must be set to true when resourceVersionMatch is set'));
    }
  }
  if (errs.length) throw invalidError('ListOptions', 'meta.k8s.io', '', errs);
  return initial;
}
