/**
 * A test-owned Redis Cluster: three masters with one replica each, six redis-server processes on free
 * loopback ports, joined by `redis-cli --cluster create`. Nodes time out after a second, so a killed
 * master's replica takes over within a few seconds.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { RedisServer } from './redis-server.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** redis-cli beside the tests' redis-server, else on the PATH. */
export function findRedisCli(serverBin: string): string {
  for (const dir of [dirname(serverBin), ...(process.env.PATH ?? '').split(delimiter)]) {
    const candidate = join(dir, 'redis-cli');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error('this test needs redis-cli (Debian/Ubuntu: redis-tools, installed with redis-server)');
}

export class RedisCluster {
  private constructor(
    readonly nodes: readonly RedisServer[],
    private readonly cliBin: string,
    private readonly replicas: number,
  ) {}

  /**
   * `masters` with `replicas` each. redis-cli creates clusters of 3 masters or more; a single master
   * (for benchmarks) takes every slot itself.
   */
  static async start(bin: string, { masters = 3, replicas = 1 } = {}): Promise<RedisCluster> {
    // Announced explicitly: a node alone (no peer to learn its address from) would name itself ''.
    const args = [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      '1000',
      '--cluster-announce-ip',
      '127.0.0.1',
    ];
    const nodes = await Promise.all(Array.from({ length: masters * (1 + replicas) }, () => RedisServer.start(bin, { args })));
    const cluster = new RedisCluster(nodes, findRedisCli(bin), masters * replicas);
    if (nodes.length === 1) await nodes[0]!.command('CLUSTER', 'ADDSLOTSRANGE', 0, 16_383);
    else {
      const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
      await cluster.cli('--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes');
    }
    await cluster.settled();
    return cluster;
  }

  /** `host:port,...` of every node, as REDIS_CLUSTER_NODES takes them. */
  get seeds(): string {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',');
  }

  get addresses(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  /** Runs redis-cli with these arguments; resolves with its output. */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await run(this.cliBin, args, { timeout: 60_000 });
    return stdout;
  }

  /**
   * Waits until every node says the cluster is ok and agrees on which nodes are masters of slots, and
   * every replica's link to its master is up (WAIT counts only those).
   */
  async settled(): Promise<void> {
    await waitFor(
      'the Redis Cluster to agree',
      async () => {
        const views = await Promise.all(
          this.nodes.map(async (node) => {
            const info = (await node.command('CLUSTER', 'INFO').catch(() => '')) as string;
            if (!info.includes('cluster_state:ok')) return undefined;
            return JSON.stringify(await this.mastersSeenBy(node));
          }),
        );
        if (!views.every((view) => view !== undefined && view === views[0])) return false;
        const links = await Promise.all(this.nodes.map(async (node) => String(await node.command('INFO', 'replication').catch(() => ''))));
        return links.filter((info) => info.includes('master_link_status:up')).length >= this.replicas;
      },
      30_000,
    );
  }

  /** The node that is master of a key's (or shard channel's) slot now, as the first node that answers sees it. */
  async masterOf(key: string): Promise<RedisServer> {
    for (const node of this.nodes) {
      const slot = (await node.command('CLUSTER', 'KEYSLOT', key).catch(() => undefined)) as number | undefined;
      if (slot === undefined) continue; // a node killed by the test
      const master = (await this.mastersSeenBy(node)).find(([from, to]) => slot >= from && slot <= to);
      return this.nodes.find((candidate) => candidate.port === master?.[2])!;
    }
    throw new Error('no node of the cluster answers');
  }

  /** One room on each of the three masters (`<base>-<n>`), and those masters, in the order of the rooms. */
  async roomsOnEveryMaster(base: string): Promise<{ rooms: string[]; masters: RedisServer[] }> {
    const rooms: string[] = [];
    const masters: RedisServer[] = [];
    for (let n = 0; masters.length < 3; n++) {
      const master = await this.masterOf(`${base}-${n}`);
      if (masters.includes(master)) continue;
      rooms.push(`${base}-${n}`);
      masters.push(master);
    }
    return { rooms, masters };
  }

  /** Clients of a shard channel on one node (`PUBSUB SHARDNUMSUB`). */
  static async shardSubscribers(node: RedisServer, channel: string): Promise<number> {
    return ((await node.command('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1];
  }

  /** Every slot range and the port of its master, as a node sees it. */
  private async mastersSeenBy(node: RedisServer): Promise<[number, number, number][]> {
    const slots = (await node.command('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    return slots.map(([from, to, [, port]]) => [from, to, port] as [number, number, number]).sort((a, b) => a[0] - b[0]);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}
