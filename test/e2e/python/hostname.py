"""The HOSTNAME a container's processes see, through exec: Kubernetes sets it to the pod's name. argv[1]: the pod."""
import sys

from kubernetes import client
from kubernetes.stream import stream

from common import emit, setup

ns = setup()
pod = sys.argv[1]
out = stream(client.CoreV1Api().connect_get_namespaced_pod_exec, pod, ns, command=['sh', '-c', 'echo $HOSTNAME'], stdout=True, stderr=True, stdin=False, tty=False)
emit('hostname', hostname=out.strip())
