import assert from "node:assert/strict";
import { type BusMessage, emptyMessage, MSG_PING } from "../../src/cluster/bus/message.ts";
import { EventQueue } from "./event_queue.ts";
import { HEALTHY, type NetworkHost, VirtualNetwork } from "./network.ts";
import { Rng } from "./rng.ts";

/** A host of three nodes that records every socket event the network reports. */
class FakeHost implements NetworkHost {
  t = 0;
  readonly queue = new EventQueue();
  readonly log: string[] = [];
  readonly received: string[] = [];
  readonly up = [true, true, true];
  readonly hostOn = [true, true, true];
  readonly inc = [1, 1, 1];
  private nextLink = 100;

  time(): number {
    return this.t;
  }
  schedule(at: number, run: () => void): void {
    this.queue.push(at, run);
  }
  nodeAt(host: string, port: number): number {
    const i = ["10.0.0.1", "10.0.0.2", "10.0.0.3"].indexOf(host);
    return i >= 0 && port === 17000 + i ? i : -1;
  }
  ipOf(node: number): string {
    return `10.0.0.${node + 1}`;
  }
  processUp(node: number): boolean {
    return this.up[node];
  }
  hostUp(node: number): boolean {
    return this.hostOn[node];
  }
  incarnation(node: number): number {
    return this.inc[node];
  }
  accepted(node: number, peerIp: string): number {
    const link = this.nextLink++;
    this.log.push(`accept n${node} link ${link} from ${peerIp}`);
    return link;
  }
  connected(node: number, link: number): void {
    this.log.push(`up n${node} link ${link}`);
  }
  down(node: number, link: number): void {
    this.log.push(`down n${node} link ${link} at ${this.t}`);
  }
  deliver(node: number, link: number, msg: BusMessage): void {
    this.received.push(`n${node}/${link}:${msg.sender.replace(/^0+/, "")}`);
  }
  badFrame(node: number, link: number, reason: string): void {
    this.log.push(`bad n${node} link ${link}: ${reason}`);
  }
  runUntil(at: number): void {
    while (this.queue.peekTime() <= at) {
      const event = this.queue.pop()!;
      this.t = event.at;
      event.run();
    }
    this.t = at;
  }
}

function ping(n: number): BusMessage {
  const msg = emptyMessage(MSG_PING);
  msg.sender = String(n).padStart(40, "0");
  return msg;
}

function setup(codecFraction = 0, latencyMax = 50): { host: FakeHost; net: VirtualNetwork } {
  const host = new FakeHost();
  const net = new VirtualNetwork(host, new Rng(9), 3, 0, latencyMax, codecFraction);
  return { host, net };
}

Deno.test("network: a connect reaches the listener, and messages of one connection arrive in order", () => {
  for (const codec of [0, 0.5, 1]) {
    const { host, net } = setup(codec);
    net.connect(0, 1, "10.0.0.2", 17001);
    net.send(0, 1, ping(0)); // queued before the connect completes, like the shell's socket queue
    host.runUntil(200);
    assert.deepEqual(host.log, ["accept n1 link 100 from 10.0.0.1", "up n0 link 1"]);
    for (let i = 1; i <= 40; i++) net.send(0, 1, ping(i));
    for (let i = 1; i <= 10; i++) net.send(1, 100, ping(1000 + i));
    host.runUntil(1000);
    const toN1 = host.received.filter((r) => r.startsWith("n1/100:")).map((r) => Number(r.split(":")[1] || "0"));
    assert.deepEqual(toN1, Array.from({ length: 41 }, (_, i) => i));
    const toN0 = host.received.filter((r) => r.startsWith("n0/1:")).map((r) => Number(r.split(":")[1]));
    assert.deepEqual(toN0, Array.from({ length: 10 }, (_, i) => 1001 + i));
    assert.equal(net.stats.encoded > 0, codec > 0);
  }
});

Deno.test("network: a stalled partition holds traffic and delivers it in order after the heal", () => {
  const { host, net } = setup();
  net.connect(0, 1, "10.0.0.2", 17001);
  host.runUntil(200);
  net.partition([0, 1, 1], "stall");
  for (let i = 1; i <= 5; i++) net.send(0, 1, ping(i));
  host.runUntil(5000);
  assert.deepEqual(host.received, []);
  // A connect across the cut hangs (SYN retries) instead of failing.
  net.connect(2, 7, "10.0.0.1", 17000);
  host.runUntil(6000);
  assert.ok(!host.log.some((l) => l.startsWith("down")));
  net.heal();
  host.runUntil(6500);
  assert.deepEqual(host.received, ["n1/100:1", "n1/100:2", "n1/100:3", "n1/100:4", "n1/100:5"]);
  // The hanging connect succeeds at the next SYN retry (7 s after it started).
  host.runUntil(14000);
  assert.ok(host.log.includes("up n2 link 7"), host.log.join("\n"));
});

Deno.test("network: a reset partition takes both ends down and connects across it fail at once", () => {
  const { host, net } = setup();
  net.connect(0, 1, "10.0.0.2", 17001);
  host.runUntil(200);
  net.partition([0, 1, 0], "reset");
  host.runUntil(210);
  assert.ok(host.log.includes("down n0 link 1 at 201"));
  assert.ok(host.log.includes("down n1 link 100 at 201"));
  net.connect(0, 2, "10.0.0.2", 17001);
  host.runUntil(400);
  assert.ok(host.log.some((l) => l.startsWith("down n0 link 2")));
  net.send(0, 1, ping(1));
  host.runUntil(1000);
  assert.deepEqual(host.received, []);
});

Deno.test("network: a crashed process refuses connects; a crashed host lets them hang until TCP gives up", () => {
  const { host, net } = setup();
  host.up[1] = false;
  net.connect(0, 1, "10.0.0.2", 17001);
  host.runUntil(200);
  assert.ok(host.log.some((l) => l.startsWith("down n0 link 1")));
  host.hostOn[2] = false;
  host.up[2] = false;
  net.connect(0, 2, "10.0.0.3", 17002);
  host.runUntil(127_000);
  assert.ok(!host.log.some((l) => l.startsWith("down n0 link 2")));
  host.runUntil(128_000);
  // Dialed at 200 ms: Linux gives up 127 s later.
  assert.ok(host.log.includes("down n0 link 2 at 127200"), host.log.join("\n"));
  // An unknown address fails at once.
  net.connect(0, 3, "10.9.9.9", 17000);
  host.runUntil(128_200);
  assert.ok(host.log.some((l) => l.startsWith("down n0 link 3")));
});

Deno.test("network: a close reaches the peer after the data sent before it; a process crash resets its links", () => {
  const { host, net } = setup();
  net.connect(0, 1, "10.0.0.2", 17001);
  host.runUntil(200);
  net.connect(2, 1, "10.0.0.2", 17001);
  host.runUntil(400);
  net.send(0, 1, ping(1));
  net.send(0, 1, ping(2));
  net.close(0, 1);
  net.send(0, 1, ping(3)); // after its own close: never sent
  host.runUntil(600);
  assert.deepEqual(host.received, ["n1/100:1", "n1/100:2"]);
  assert.ok(host.log.some((l) => l.startsWith("down n1 link 100")));
  host.up[2] = false;
  host.inc[2]++;
  net.crash(2, false);
  host.runUntil(800);
  assert.ok(host.log.some((l) => l.startsWith("down n1 link 101")), host.log.join("\n"));
});

Deno.test("network: a retransmitted message is late, and what follows waits behind it", () => {
  const { host, net } = setup(0, 0);
  net.connect(0, 1, "10.0.0.2", 17001);
  host.runUntil(100);
  net.faults = { ...HEALTHY, dropRate: 1, dropMode: "retransmit", rtoMaxMs: 500 };
  net.send(0, 1, ping(1));
  net.faults = HEALTHY;
  net.send(0, 1, ping(2));
  host.runUntil(299);
  assert.deepEqual(host.received, []);
  host.runUntil(601);
  assert.deepEqual(host.received, ["n1/100:1", "n1/100:2"]);
  assert.ok(!host.log.some((l) => l.startsWith("down")));
});

Deno.test("network: drops reset the connection in reset mode and vanish in lossy mode; duplicates come twice", () => {
  const reset = setup();
  reset.net.connect(0, 1, "10.0.0.2", 17001);
  reset.host.runUntil(200);
  reset.net.faults = { ...HEALTHY, dropRate: 1, dropMode: "reset" };
  reset.net.send(0, 1, ping(1));
  reset.host.runUntil(300);
  assert.deepEqual(reset.host.received, []);
  assert.ok(reset.host.log.some((l) => l.startsWith("down n0 link 1")));
  assert.ok(reset.host.log.some((l) => l.startsWith("down n1 link 100")));

  const lossy = setup();
  lossy.net.connect(0, 1, "10.0.0.2", 17001);
  lossy.host.runUntil(200);
  lossy.net.faults = { ...HEALTHY, dropRate: 1, dropMode: "lossy" };
  lossy.net.send(0, 1, ping(1));
  lossy.net.faults = { ...HEALTHY, duplicateRate: 1 };
  lossy.net.send(0, 1, ping(2));
  lossy.host.runUntil(300);
  assert.deepEqual(lossy.host.received, ["n1/100:2", "n1/100:2"]);
  assert.ok(!lossy.host.log.some((l) => l.startsWith("down")));
});
