"""kubernetes.stream.portforward to a pod's port, and an HTTP request through the socket it gives, as the client's
own example does. argv[1]: an agnhost netexec pod (HTTP on 8080)."""
import sys

from kubernetes import client
from kubernetes.stream import portforward

from common import emit, setup

ns = setup()
pod = sys.argv[1]
v1 = client.CoreV1Api()

pf = portforward(v1.connect_get_namespaced_pod_portforward, pod, ns, ports='8080')
sock = pf.socket(8080)
sock.settimeout(20)
sock.sendall(b'GET /hostname HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
response = b''
while True:
    data = sock.recv(65536)
    if not data:
        break
    response += data
sock.close()
head, _, body = response.decode().partition('\r\n\r\n')
emit('request', statusLine=head.split('\r\n')[0], body=body, error=pf.error(8080))
