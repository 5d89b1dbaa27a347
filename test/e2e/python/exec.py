"""kubernetes.stream.stream on connect_get_namespaced_pod_exec: output of a command, stdout and stderr apart with the
exit code (_preload_content=False, returncode), and an interactive shell fed through stdin. argv[1]: the pod."""
import sys

from kubernetes import client
from kubernetes.stream import stream

from common import emit, setup, wait_for

ns = setup()
pod = sys.argv[1]
v1 = client.CoreV1Api()
exec_ = v1.connect_get_namespaced_pod_exec

out = stream(exec_, pod, ns, command=['sh', '-c', 'echo hello from python'], stdout=True, stderr=True, stdin=False, tty=False)
emit('output', output=out)

resp = stream(exec_, pod, ns, command=['sh', '-c', 'echo out; echo err >&2; exit 3'], stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
resp.run_forever(timeout=40)
emit('exit-code', stdout=resp.read_stdout(), stderr=resp.read_stderr(), returncode=resp.returncode)

resp = stream(exec_, pod, ns, command=['sh'], stdout=True, stderr=True, stdin=True, tty=False, _preload_content=False)
resp.write_stdin('echo $((6 * 7))\n')
answer = ''


def answered():
    global answer
    resp.update(timeout=1)
    answer += resp.read_stdout() if resp.peek_stdout() else ''
    return '\n' in answer or not resp.is_open()


wait_for('the shell to answer', answered, timeout=20)
if '\n' not in answer:
    raise AssertionError(f'the shell ended (exit code {resp.returncode}) without answering: stdin=True did not give it our stdin')
resp.write_stdin('exit 5\n')
resp.run_forever(timeout=40)
emit('stdin', answer=answer, returncode=resp.returncode)
