import { describe, expect, it } from 'vitest';
import { containerArgv, ImageNotFoundError, lookupImage } from './catalog.js';

describe('image catalog', () => {
  it('resolves the references tutorials use', () => {
    for (const ref of ['nginx', 'nginx:1.25', 'docker.io/library/nginx:latest'])
      expect(containerArgv(lookupImage(ref, '/img'))).toEqual(['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;']);
    expect(lookupImage('nginx:1.25', '/img').canonical).toBe('docker.io/library/nginx:1.25');
    expect(lookupImage('registry.k8s.io/pause:3.10', '/img').entrypoint).toEqual(['/bin/sh', '/img/pause/pause.sh']);
    expect(lookupImage('busybox').cmd).toEqual(['sh']);
    expect(lookupImage('k8s.gcr.io/e2e-test-images/jessie-dnsutils:1.3').cmd).toEqual(['bash']);
    expect(lookupImage('tutum/dnsutils').cmd).toEqual(['bash']);
  });
  it('runs the real nginx under the image files of each nginx image, its own on top', () => {
    expect(lookupImage('nginx').layers).toEqual(['nginx/rootfs']);
    expect(lookupImage('bprashanth/nginxhttps:1.0').layers).toEqual(['bprashanth/nginxhttps/rootfs', 'nginx/rootfs']);
    expect(lookupImage('sparcflow/nginx').layers).toEqual(['sparcflow/nginx/rootfs', 'nginx/rootfs']);
    expect(lookupImage('nginx').users).toEqual([{ name: 'nginx', uid: 101, gid: 101 }]);
    expect(lookupImage('nginx').stopSignal).toBe('SIGQUIT'); // the image's STOPSIGNAL: graceful shutdown
    expect(lookupImage('bprashanth/nginxhttps:1.0').stopSignal).toBeUndefined();
    // command replaces the entrypoint: nginx itself, without the image's entrypoint scripts
    expect(containerArgv(lookupImage('nginx'), ['nginx', '-g', 'daemon off;'])).toEqual(['nginx', '-g', 'daemon off;']);
  });
  it('runs redis-server in /data behind the image entrypoint; args replace its CMD', () => {
    const redis = lookupImage('redis:7');
    expect(redis).toMatchObject({ workingDir: '/data', layers: ['redis/rootfs'], ports: [6379] });
    expect(containerArgv(redis, undefined, ['--appendonly', 'yes'])).toEqual(['docker-entrypoint.sh', '--appendonly', 'yes']);
  });
  it("puts each image's own tools first on its PATH", () => {
    expect(lookupImage('busybox', '/img').env?.PATH).toMatch(/^\/img\/bin:\/usr\/local\/sbin:/);
    expect(lookupImage('radial/busyboxplus:curl', '/img').env?.PATH).toMatch(/^\/img\/radial\/busyboxplus\/bin:\/img\/bin:/);
    expect(lookupImage('registry.k8s.io/e2e-test-images/agnhost:2.39', '/img').env?.PATH).toMatch(/^\/img\/agnhost\/bin:\/usr\/local\/sbin:/);
    expect(lookupImage('debian').env).toBeUndefined();
  });
  it("runs kemu's ingress controller behind the controller image's entrypoint, as ingress-nginx's Deployments start it", () => {
    const ref = 'registry.k8s.io/ingress-nginx/controller:v1.10.1@sha256:e24f39d3eed6bcc239a56f20098878845f62baa34b9f2be2fd2c38ce9fb0f29e';
    const controller = lookupImage(ref);
    expect(controller).toMatchObject({ layers: ['ingress-nginx/controller/rootfs'], files: [{ source: '..', target: '/.kemu/src' }] });
    expect(containerArgv(controller)).toEqual(['/usr/bin/dumb-init', '--', '/nginx-ingress-controller']);
    expect(containerArgv(controller, undefined, ['/nginx-ingress-controller', '--publish-service=ns/svc'])).toEqual([
      '/usr/bin/dumb-init',
      '--',
      '/nginx-ingress-controller',
      '--publish-service=ns/svc',
    ]);
  });
  it('runs the same controller for the 0.x image of quay.io, behind its ENTRYPOINT of then, told which release it is', () => {
    const controller = lookupImage('quay.io/kubernetes-ingress-controller/nginx-ingress-controller:0.12.0');
    expect(controller.env).toEqual({ KEMU_INGRESS_NGINX_RELEASE: '0.x' });
    expect(containerArgv(controller, undefined, ['/nginx-ingress-controller', '--ingress-class=x'])).toEqual([
      '/usr/bin/dumb-init',
      '/nginx-ingress-controller',
      '--ingress-class=x',
    ]);
  });
  it("runs Kubernetes' 404-server for the defaultbackend image, under its old names too", () => {
    for (const ref of ['gcr.io/google_containers/defaultbackend:1.4', 'k8s.gcr.io/defaultbackend:1.4', 'registry.k8s.io/defaultbackend-amd64:1.5']) {
      const backend = lookupImage(ref);
      expect(backend).toMatchObject({ ports: [8080], files: [{ source: 'defaultbackend/server', target: '/server' }] });
      expect(containerArgv(backend)).toEqual(['/server']);
    }
  });
  it('fails like a missing image', () => {
    expect(() => lookupImage('nosuch/image:1')).toThrow(ImageNotFoundError);
    expect(() => lookupImage('nosuch/image:1')).toThrow('failed to pull and unpack image "nosuch/image:1"');
  });
  it.each([
    [[], undefined, undefined, ['sh']],
    [['/entry'], undefined, undefined, ['/entry']],
    [['/entry'], undefined, ['-v'], ['/entry', '-v']],
    [['/entry'], ['sleep'], undefined, ['sleep']],
    [['/entry'], ['sleep'], ['10'], ['sleep', '10']],
  ])('entrypoint %j command %j args %j', (entrypoint, command, args, want) => {
    expect(containerArgv({ entrypoint, cmd: entrypoint.length ? [] : ['sh'], ports: [] }, command, args)).toEqual(want);
  });
});
