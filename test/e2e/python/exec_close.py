"""An exec stream ends when its command does: after the Status on the error channel the connection closes, so
run_forever returns and returncode is known. Twenty short commands in a row, each given a few seconds: the client
reads one WebSocket frame per socket readiness, so a close frame that shares a TLS record with the Status is only
seen when the server also ends the connection. argv[1]: the pod."""
import sys

from kubernetes import client
from kubernetes.stream import stream

from common import emit, setup

ns = setup()
pod = sys.argv[1]
v1 = client.CoreV1Api()

results = []
for i in range(20):
    resp = stream(v1.connect_get_namespaced_pod_exec, pod, ns, command=['sh', '-c', f'echo {i}; exit {i}'], stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
    resp.run_forever(timeout=5)
    results.append({'stdout': resp.read_stdout(), 'closed': not resp.is_open(), 'returncode': resp.returncode})
    resp.close()
emit('execs', results=results)
