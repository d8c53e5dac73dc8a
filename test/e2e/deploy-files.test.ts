/**
 * The deployment files keep their promises, read as the tools would read them (no Docker daemon or
 * Kubernetes cluster here, so none is run): the Dockerfile's stages, compose.yaml's Redis, replicas and
 * balancer, the HAProxy routing check, and the Kubernetes probes, grace period and disruption budget.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { execForm, readDockerfile } from '../helpers/dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
/** compose files use YAML merge keys (`<<: *replica`). */
const compose = parse(read('compose.yaml'), { merge: true }) as Compose;
const REPLICA_CHECK = '/readyz/replica';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Compose durations: "15s", "1m30s", "500ms". */
function durationMs(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  }
  if (total === 0) throw new Error(`not a duration: ${text}`);
  return total;
}

const replicaServices = () => Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

describe('Dockerfile', () => {
  const stages = readDockerfile(`${root}Dockerfile`);
  const runtime = stages.at(-1)!;
  const last = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;

  it('should build in one stage and run from node:24-slim in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.image).toBe('node:24-slim');
    const build = stages.find((stage) => stage.name === 'build');
    expect(build?.instructions.some((i) => i.keyword === 'RUN' && /\bnpm run build\b/.test(i.args))).toBe(true);
    expect(runtime.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args))).toBe(true);
  });

  it('should run as a user other than root, with a /healthz health check, SIGTERM and node as PID 1', () => {
    expect(last('USER')).toBeDefined();
    expect(last('USER')).not.toMatch(/^(root|0)(:|$)/);
    expect(last('HEALTHCHECK')).toContain('/healthz');
    expect(last('STOPSIGNAL')).toBe('SIGTERM');
    expect(execForm(last('CMD')!)).toEqual(['node', 'dist/main.js']);
  });
});

describe('compose.yaml', () => {
  it('should run Redis with an append-only file on a named volume', () => {
    const redis = compose.services.redis!;
    expect(redis.command?.join(' ')).toMatch(/--appendonly yes/);
    const dataVolume = redis.volumes?.find((volume) => volume.endsWith(':/data'));
    expect(dataVolume).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(dataVolume!.split(':')[0]);
  });

  it('should run 3 replicas of the image on that Redis, checked on their own state, with a grace above SHUTDOWN_TIMEOUT_MS', () => {
    const replicas = replicaServices();
    expect(replicas).toHaveLength(3);
    for (const [, service] of replicas) {
      const env = service.environment ?? {};
      expect(env.REDIS_URL).toBe('redis://redis:6379');
      expect(durationMs(service.stop_grace_period ?? '10s')).toBeGreaterThan(Number(env.SHUTDOWN_TIMEOUT_MS ?? 10_000));
      expect(Number(env.SHUTDOWN_TIMEOUT_MS)).toBeGreaterThan(Number(env.DRAIN_MS));
      expect(service.healthcheck?.test.join(' ')).toContain(REPLICA_CHECK);
      expect(service.depends_on?.redis?.condition).toBe('service_healthy');
    }
    expect(new Set(replicas.map(([, service]) => service.environment?.REPLICA_ID)).size).toBe(3);
  });

  it('should publish one port through HAProxy, configured with deploy/haproxy/haproxy.cfg over every replica', () => {
    const balancer = compose.services.balancer!;
    expect(balancer.image).toMatch(/^haproxy:/);
    expect(balancer.ports).toHaveLength(1);
    expect(balancer.volumes).toContain('./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    for (const [name] of replicaServices()) expect(balancer.depends_on?.[name]?.condition).toBe('service_healthy');
    const published = Number(balancer.ports![0]!.split(':').at(-1));
    const cfg = read('deploy/haproxy/haproxy.cfg');
    expect(cfg).toMatch(new RegExp(`^\\s*bind :${published}$`, 'm'));
    const servers = [...cfg.matchAll(/^\s*server (\S+) (\S+):4000$/gm)].map(([, , host]) => host);
    expect(servers.sort()).toEqual(
      replicaServices()
        .map(([name]) => name)
        .sort(),
    );
  });
});

describe('deploy/haproxy/haproxy.cfg', () => {
  const cfg = read('deploy/haproxy/haproxy.cfg').replace(/^\s*#.*$/gm, '');
  it('should balance by least connections, route on the replica-local check and keep tunnels and streams open', () => {
    expect(cfg).toMatch(/^\s*balance leastconn$/m);
    expect(cfg).toMatch(new RegExp(`^\\s*http-check send meth GET uri ${REPLICA_CHECK}$`, 'm'));
    expect(cfg).not.toMatch(/uri \/readyz\s*$/m);
    expect(cfg).toMatch(/^\s*timeout tunnel \d+h$/m);
    // Above the SSE ping interval (12 s) and KEEPALIVE_MS (25 s).
    for (const side of ['client', 'server']) {
      const [, seconds] = new RegExp(`^\\s*timeout ${side} (\\d+)s$`, 'm').exec(cfg) ?? [];
      expect(Number(seconds)).toBeGreaterThan(25);
    }
    expect(cfg).not.toMatch(/shutdown-sessions/);
  });
});

describe('deploy/k8s', () => {
  const docs = readdirSync(`${root}deploy/k8s`)
    .filter((file) => file.endsWith('.yaml'))
    .flatMap((file) => parseAllDocuments(read(`deploy/k8s/${file}`)).map((doc) => doc.toJS() as unknown));
  const ofKind = (kind: string) => {
    const found = docs.find((doc) => get(doc, 'kind') === kind);
    if (found === undefined) throw new Error(`no ${kind} in deploy/k8s`);
    return found;
  };
  const container = () => get(ofKind('Deployment'), 'spec.template.spec.containers.0');

  it('should probe readiness on the replica-local check and liveness on /healthz', () => {
    expect(get(container(), 'readinessProbe.httpGet.path')).toBe(REPLICA_CHECK);
    expect(get(container(), 'livenessProbe.httpGet.path')).toBe('/healthz');
    expect(get(ofKind('Deployment'), 'spec.replicas')).toBeGreaterThanOrEqual(2);
    expect(get(ofKind('Deployment'), 'spec.strategy.rollingUpdate.maxUnavailable')).toBe(0);
  });

  it('should give a grace period above the preStop pause plus SHUTDOWN_TIMEOUT_MS', () => {
    const env = Object.fromEntries((get(container(), 'env') as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    const preStop = (get(container(), 'lifecycle.preStop.exec.command') ?? []) as string[];
    const pauseMs = preStop[0] === 'sleep' ? Number(preStop[1]) * 1_000 : 0;
    expect(Number(env.SHUTDOWN_TIMEOUT_MS)).toBeGreaterThan(Number(env.DRAIN_MS));
    const graceMs = Number(get(ofKind('Deployment'), 'spec.template.spec.terminationGracePeriodSeconds')) * 1_000;
    expect(graceMs).toBeGreaterThan(pauseMs + Number(env.SHUTDOWN_TIMEOUT_MS));
  });

  it('should bound voluntary disruptions and route a Service to the same pods', () => {
    const labels = get(ofKind('Deployment'), 'spec.template.metadata.labels');
    const budget = ofKind('PodDisruptionBudget');
    expect(get(budget, 'spec.maxUnavailable') ?? get(budget, 'spec.minAvailable')).toBeDefined();
    expect(get(budget, 'spec.selector.matchLabels')).toEqual(labels);
    expect(get(ofKind('Service'), 'spec.selector')).toEqual(labels);
  });
});

/** A field of a parsed manifest by its dotted path (array indexes as numbers), or undefined. */
function get(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
