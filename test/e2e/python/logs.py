"""Logs: a whole log (read_namespaced_pod_log), then follow=True with _preload_content=False, reading lines as the
container writes them. argv[1]: a pod printing `started` then `tick N` lines, a few a second."""
import sys

from kubernetes import client

from common import emit, setup

ns = setup()
pod = sys.argv[1]
v1 = client.CoreV1Api()


def tick(line):
    return int(line.split()[1]) if line.startswith('tick ') else None


whole = v1.read_namespaced_pod_log(pod, ns).split('\n')
known = max((t for t in map(tick, whole) if t is not None), default=0)
emit('whole', first=whole[0], ticks=known > 0)

# A followed log starts from the beginning and goes on: reading until three ticks newer than any in the whole log
# shows lines arriving as they are written.
resp = v1.read_namespaced_pod_log(pod, ns, follow=True, _preload_content=False, _request_timeout=(10, 30))
lines = []
for raw in resp:
    lines.append(raw.decode().rstrip('\n'))
    t = tick(lines[-1])
    if t is not None and t >= known + 3:
        break
resp.close()
if tick(lines[-1]) is None or tick(lines[-1]) < known + 3:
    raise AssertionError(f'the followed log ended at {lines[-1]!r}, the whole log having reached tick {known}: follow=True did not keep it open')
ticks = [t for t in map(tick, lines) if t is not None]
emit('follow', first=lines[0], knownBefore=known, last=ticks[-1], inOrder=ticks == list(range(1, ticks[-1] + 1)))
