"""What the Python-client e2e programs share: the cluster (KUBECONFIG), the test's namespace (E2E_NAMESPACE), one
JSON object per line on stdout for the vitest suite to assert on, and polling with a deadline."""
import json
import os
import time

from kubernetes import client, config, dynamic


def setup():
    """Loads the kubeconfig as a user would, and returns the namespace to work in."""
    config.load_kube_config(config_file=os.environ['KUBECONFIG'])
    return os.environ['E2E_NAMESPACE']


def emit(step, **fields):
    """One line for the suite; flushed, so a program that crashes later still shows how far it got."""
    print(json.dumps({'step': step, **fields}, sort_keys=True, default=str), flush=True)


def api_error(e):
    """An ApiException as the suite compares it: the HTTP code and the Status object's kind, reason and code."""
    try:
        body = json.loads(e.body)
    except (TypeError, ValueError):
        body = {}
    return {'status': e.status, 'kind': body.get('kind'), 'reason': body.get('reason'), 'code': body.get('code')}


def expect_error(call, *args, **kwargs):
    """Calls an API method that must fail, and returns its error as api_error describes it."""
    try:
        call(*args, **kwargs)
    except client.ApiException as e:
        return api_error(e)
    raise AssertionError(f'{call.__name__} succeeded; an ApiException was expected')


def wait_for(what, fn, timeout=40, every=0.1):
    """Polls fn until it returns something truthy; raises after the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f'timed out waiting for {what}')
        time.sleep(every)


def gone(read, *args):
    """True when reading the object answers 404."""
    try:
        read(*args)
        return False
    except client.ApiException as e:
        if e.status == 404:
            return True
        raise


def dynamic_client():
    # The discovery cache goes to tempfile.gettempdir(): the suite points TMPDIR into the cluster's home.
    return dynamic.DynamicClient(client.ApiClient())


def deployment(name, replicas, labels=None):
    """A Deployment of busybox sleepers, labelled app=<name> (plus labels)."""
    meta_labels = {'app': name, **(labels or {})}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=meta_labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels={'app': name}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={'app': name}),
                spec=client.V1PodSpec(containers=[client.V1Container(name='main', image='busybox', command=['sleep', '3600'])]),
            ),
        ),
    )
