"""A Deployment as create and get return it: Kubernetes always includes `status` (empty on create), so a Python
program can read `d.status.replicas` without first checking `d.status` for None."""
import json

from kubernetes import client

from common import deployment, emit, setup

ns = setup()
apps = client.AppsV1Api()

typed = apps.create_namespaced_deployment(ns, deployment('status-typed', 0))
emit('create', status=typed.status is not None)
raw = json.loads(apps.create_namespaced_deployment(ns, deployment('status-raw', 0), _preload_content=False).data)
emit('create-raw', hasStatus='status' in raw, status=raw.get('status'))
emit('get', status=apps.read_namespaced_deployment('status-typed', ns).status is not None)
