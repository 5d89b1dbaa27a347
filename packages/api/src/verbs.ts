/**
 * The API verb of an HTTP request, as Kubernetes' RequestInfoFactory and the kubelet's authorizer derive it: GET and
 * HEAD of a name get, of a collection list (watch with watch=true), POST create, PUT update, PATCH patch, DELETE of a
 * name delete, of a collection deletecollection. Shared by the api-server's authorization and the kubelet API's.
 * Pure.
 */
export function resourceVerb(method: string, named = true, watching = false): string | undefined {
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      return watching ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}
