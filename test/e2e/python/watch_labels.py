"""List and watch ConfigMaps with a label selector through kubernetes.watch.Watch().stream: a watch begins with the
current state, then delivers what is created after it started (and only what matches); a watch from a
resourceVersion replays nothing before it and delivers only the later changes."""
from kubernetes import client, watch

from common import emit, setup

ns = setup()
v1 = client.CoreV1Api()
SELECTOR = 'app=py-watch'


def cm(name, app):
    return v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={'app': app})))


def stream(**kwargs):
    # timeout_seconds ends the watch on the server's side; _request_timeout is the client's guard if it never answers.
    return watch.Watch(), dict(label_selector=SELECTOR, timeout_seconds=30, _request_timeout=(10, 45), **kwargs)


cm('before', 'py-watch')
cm('other', 'elsewhere')
listed = v1.list_namespaced_config_map(ns, label_selector=SELECTOR)
emit('list', names=sorted(i.metadata.name for i in listed.items), resourceVersion=bool(listed.metadata.resource_version))

# No resourceVersion: the current state comes first as ADDED. Seeing it means the watch is running, so what is
# created from the loop is created after the watch started.
w, kwargs = stream()
seen, resume_from = [], None
for e in w.stream(v1.list_namespaced_config_map, ns, **kwargs):
    name = e['object'].metadata.name
    seen.append([e['type'], name])
    if e['type'] == 'ADDED' and name == 'before':
        cm('after-other', 'elsewhere')  # does not match: must not be delivered
        cm('after', 'py-watch')
    elif name == 'after':
        resume_from = e['object'].metadata.resource_version
        w.stop()
emit('watch', events=seen)
if resume_from is None:
    raise AssertionError(f'the watch ended having delivered {seen}, never ADDED after')

# Changes after `after` was created, then a watch resumed from that event's resourceVersion.
v1.patch_namespaced_config_map('after', ns, {'data': {'changed': 'yes'}})
v1.delete_namespaced_config_map('before', ns)
cm('late-other', 'elsewhere')
cm('late', 'py-watch')
w, kwargs = stream(resource_version=resume_from)
seen = []
for e in w.stream(v1.list_namespaced_config_map, ns, **kwargs):
    seen.append([e['type'], e['object'].metadata.name])
    if e['object'].metadata.name == 'late':
        w.stop()
emit('resume', events=seen)
if ['ADDED', 'late'] not in seen:
    raise AssertionError(f'the resumed watch ended having delivered {seen}, never ADDED late')
