/** Which node is which in a `deno task cluster` cluster: ports, masters, replicas and the slot split. */
import { CLUSTER_SLOTS } from "../../src/cluster/slots.ts";

/** The shape of a cluster: `masters` masters, each with `replicas` replicas, on consecutive ports. */
export interface ClusterLayout {
  masterPorts: number[];
  /** replica port -> the port of the master it replicates. */
  replicaOf: Map<number, number>;
}

/**
 * Masters take the first ports, then each round of replicas follows in the masters' order:
 * with base 30001, 3 masters and 1 replica each, 30004 replicates 30001, 30005 30002, 30006 30003.
 */
export function makeLayout(basePort: number, masters: number, replicas: number): ClusterLayout {
  const masterPorts = Array.from({ length: masters }, (_, i) => basePort + i);
  const replicaOf = new Map<number, number>();
  for (let round = 1; round <= replicas; round++) {
    for (let i = 0; i < masters; i++) replicaOf.set(basePort + round * masters + i, masterPorts[i]);
  }
  return { masterPorts, replicaOf };
}

/** Every port of the layout, masters first. */
export function layoutPorts(layout: ClusterLayout): number[] {
  return [...layout.masterPorts, ...layout.replicaOf.keys()];
}

/** Inclusive slot ranges, one per master, split as redis-cli --cluster create does (0-5460, 5461-10922, ...). */
export function slotRanges(masters: number): [number, number][] {
  const perNode = CLUSTER_SLOTS / masters;
  const ranges: [number, number][] = [];
  let first = 0;
  let cursor = 0;
  for (let i = 0; i < masters; i++) {
    let last = Math.round(cursor + perNode - 1);
    if (last > CLUSTER_SLOTS - 1 || i === masters - 1) last = CLUSTER_SLOTS - 1;
    ranges.push([first, last]);
    first = last + 1;
    cursor += perNode;
  }
  return ranges;
}
