"""The scale subresource of a Deployment: read, patch (a strategic merge patch of a Scale), replace, and the
controller's count reaching the Scale's status."""
from kubernetes import client

from common import deployment, emit, setup, wait_for

ns = setup()
apps = client.AppsV1Api()
apps.create_namespaced_deployment(ns, deployment('scaled', 1))

s = apps.read_namespaced_deployment_scale('scaled', ns)
emit('read', kind=s.kind, name=s.metadata.name, replicas=s.spec.replicas)
s = apps.patch_namespaced_deployment_scale('scaled', ns, {'spec': {'replicas': 2}})
emit('patch', replicas=s.spec.replicas, deploymentReplicas=apps.read_namespaced_deployment('scaled', ns).spec.replicas)


def counted(n):
    s = apps.read_namespaced_deployment_scale('scaled', ns)
    return s if s.status.replicas == n else None


s = wait_for('the Scale status to count 2 replicas', lambda: counted(2))
emit('status', replicas=s.status.replicas, selector=s.status.selector)


def replace_scale(replicas):
    # Read, change, replace: the controller writes the Deployment's status meanwhile, so a 409 Conflict means read
    # again (client-go's RetryOnConflict).
    for _ in range(5):
        s = apps.read_namespaced_deployment_scale('scaled', ns)
        s.spec.replicas = replicas
        try:
            return apps.replace_namespaced_deployment_scale('scaled', ns, s)
        except client.ApiException as e:
            if e.status != 409:
                raise
    raise AssertionError('five conflicts in a row replacing the Scale')


s = replace_scale(0)
emit('replace', replicas=s.spec.replicas)
wait_for('the Scale status to count 0 replicas', lambda: counted(0))
emit('scaled-down', replicas=0)
