"""Deletion with each propagationPolicy, as V1DeleteOptions in the body. Foreground: the owner stays (deleting, with
the foregroundDeletion finalizer) while a dependent does, held here by a finalizer of our own. Background: the
owner goes at once, its ReplicaSet after it. Orphan: the ReplicaSet stays, without its ownerReferences."""
from kubernetes import client

from common import deployment, emit, gone, setup, wait_for

ns = setup()
v1 = client.CoreV1Api()
apps = client.AppsV1Api()
HOLD = 'e2e.kemu.dev/hold'

owner = v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='fg-owner')))
ref = client.V1OwnerReference(api_version='v1', kind='ConfigMap', name='fg-owner', uid=owner.metadata.uid, block_owner_deletion=True)
v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name='fg-dep', owner_references=[ref], finalizers=[HOLD])))
v1.delete_namespaced_config_map('fg-owner', ns, body=client.V1DeleteOptions(propagation_policy='Foreground'))
dep = wait_for('the dependent to be deleting', lambda: (d := v1.read_namespaced_config_map('fg-dep', ns)).metadata.deletion_timestamp and d)
o = v1.read_namespaced_config_map('fg-owner', ns)
emit('foreground-waiting', ownerDeleting=o.metadata.deletion_timestamp is not None, ownerFinalizers=o.metadata.finalizers, dependentFinalizers=dep.metadata.finalizers)
v1.patch_namespaced_config_map('fg-dep', ns, [{'op': 'remove', 'path': '/metadata/finalizers'}])
wait_for('the dependent to go', lambda: gone(v1.read_namespaced_config_map, 'fg-dep', ns))
wait_for('the owner to go', lambda: gone(v1.read_namespaced_config_map, 'fg-owner', ns))
emit('foreground-done', ownerGone=True, dependentGone=True)


def with_replicaset(name):
    """A Deployment and the ReplicaSet its controller makes for it."""
    d = apps.create_namespaced_deployment(ns, deployment(name, 0))
    owned = lambda: [r for r in apps.list_namespaced_replica_set(ns, label_selector=f'app={name}').items if any(o.uid == d.metadata.uid for o in r.metadata.owner_references or [])]
    return wait_for(f'the ReplicaSet of {name}', owned)[0].metadata.name


rs = with_replicaset('bg')
apps.delete_namespaced_deployment('bg', ns, body=client.V1DeleteOptions(propagation_policy='Background'))
owner_gone_at_once = gone(apps.read_namespaced_deployment, 'bg', ns)
wait_for('the ReplicaSet to go', lambda: gone(apps.read_namespaced_replica_set, rs, ns))
emit('background', ownerGoneAtOnce=owner_gone_at_once, dependentGone=True)

rs = with_replicaset('orphan')
apps.delete_namespaced_deployment('orphan', ns, body=client.V1DeleteOptions(propagation_policy='Orphan'))
wait_for('the Deployment to go', lambda: gone(apps.read_namespaced_deployment, 'orphan', ns))
left = apps.read_namespaced_replica_set(rs, ns)
emit('orphan', dependentDeleting=left.metadata.deletion_timestamp is not None, ownerReferences=left.metadata.owner_references or [])
