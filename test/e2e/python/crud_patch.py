"""Create, replace and the three patch types with the typed API (22.6 picks the patch type from the body: a dict is
a strategic merge patch, a list a JSON patch; it has no `_content_type`, so a merge patch goes through the dynamic
client's content_type), then the errors a user meets: a stale replace (409 Conflict), a duplicate create (409
AlreadyExists), a missing object (404 NotFound), an invalid one (422 Invalid)."""
from kubernetes import client

from common import deployment, dynamic_client, emit, expect_error, setup

ns = setup()
v1 = client.CoreV1Api()
apps = client.AppsV1Api()

created = v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='crud'), data={'k': 'v1'}))
emit('create', data=created.data, uid=bool(created.metadata.uid))
stale = created.metadata.resource_version

created.data = {'k': 'v2', 'extra': 'x'}
replaced = v1.replace_namespaced_config_map('crud', ns, created)
emit('replace', data=replaced.data, newResourceVersion=replaced.metadata.resource_version != stale)

patched = v1.patch_namespaced_config_map('crud', ns, [{'op': 'replace', 'path': '/data/k', 'value': 'v3'}, {'op': 'remove', 'path': '/data/extra'}])
emit('json-patch', data=patched.data)

# Lists show the difference between the two merge flavours: a strategic patch merges containers by name, a merge
# patch replaces the list.
apps.create_namespaced_deployment(ns, deployment('patchme', 0))
sidecar = {'name': 'side', 'image': 'busybox', 'command': ['sleep', '3600']}
strategic = apps.patch_namespaced_deployment('patchme', ns, {'spec': {'template': {'spec': {'containers': [sidecar]}}}})
emit('strategic', containers=sorted(c.name for c in strategic.spec.template.spec.containers))
deployments = dynamic_client().resources.get(api_version='apps/v1', kind='Deployment')
merged = deployments.patch(name='patchme', namespace=ns, body={'spec': {'template': {'spec': {'containers': [sidecar]}}}}, content_type='application/merge-patch+json')
emit('merge', containers=[c['name'] for c in merged.spec.template.spec.containers])

stale_body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name='crud', resource_version=stale), data={'k': 'stale'})
emit('stale-replace', **expect_error(v1.replace_namespaced_config_map, 'crud', ns, stale_body))
emit('duplicate', **expect_error(v1.create_namespaced_config_map, ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='crud'))))
emit('missing', **expect_error(v1.read_namespaced_config_map, 'nope', ns))
emit('invalid', **expect_error(v1.create_namespaced_config_map, ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='Not_A_Name'))))
emit('after', data=v1.read_namespaced_config_map('crud', ns).data)
