"""The dynamic client: discovery finds a resource by apiVersion and kind; create, list and get go through it."""
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from common import dynamic_client, emit, setup

ns = setup()
dc = dynamic_client()

deployments = dc.resources.get(api_version='apps/v1', kind='Deployment')
emit('discovery', name=deployments.name, namespaced=deployments.namespaced, groupVersion=deployments.group_version, verbs=sorted(deployments.verbs))
emit('subresources', names=sorted(deployments.subresources), scaleKind=deployments.subresources['scale'].kind if 'scale' in deployments.subresources else None)
try:
    dc.resources.get(api_version='apps/v1', kind='NoSuchKind')
    emit('unknown', found=True)
except ResourceNotFoundError:
    emit('unknown', found=False)

body = {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': 'dyn', 'labels': {'via': 'dynamic'}}, 'spec': {
    'replicas': 0, 'selector': {'matchLabels': {'app': 'dyn'}},
    'template': {'metadata': {'labels': {'app': 'dyn'}}, 'spec': {'containers': [{'name': 'main', 'image': 'busybox'}]}}}}
deployments.create(body=body, namespace=ns)
listed = deployments.get(namespace=ns, label_selector='via=dynamic')
emit('list', kind=listed.kind, names=[i.metadata.name for i in listed.items])
emit('get', name=deployments.get(name='dyn', namespace=ns).metadata.name)
cms = dc.resources.get(api_version='v1', kind='ConfigMap')
emit('core', names=[i.metadata.name for i in cms.get(namespace=ns, field_selector='metadata.name=kube-root-ca.crt').items])
