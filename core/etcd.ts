/**
 * etcd v3 conventions shared by the agent (registration) and the gateway (discovery, leader
 * election), through the maintained `etcd3` client: the same key layout as ZooKeeper's
 * (core/discovery.ts), registrations on leases of DOCKER_CLUSTER_TTL.
 */
import { Etcd3 } from 'etcd3';

/** A client for `host:port,host:port` (DOCKER_CLUSTER_URIS=etcd://...). */
export function openEtcdClient(connectionString: string): Etcd3 {
  return new Etcd3({
    hosts: connectionString.split(',').map((h) => `http://${h}`),
    dialTimeout: 3000,
  });
}

/** A promise with a deadline: etcd3 retries requests to a missing cluster for a long time. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`etcd: ${what} timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
