import assert from "node:assert/strict";
import { normalizeIpLiteral } from "./ip_literal.ts";

// Expected texts are what redis-server 7.0.15 (glibc inet_pton / inet_ntop) showed in CLUSTER NODES after
// CLUSTER MEET with the same address, or its "Invalid node address" error (null here).

Deno.test("normalizeIpLiteral keeps valid IPv4 literals", () => {
  for (const ip of ["127.0.0.1", "0.0.0.0", "255.255.255.255", "10.20.30.40"]) {
    assert.equal(normalizeIpLiteral(ip), ip);
  }
});

Deno.test("normalizeIpLiteral rejects what inet_pton rejects for IPv4", () => {
  for (const ip of ["1.2.3.999", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3", "localhost", "", " 1.2.3.4", "1.2.3.4 "]) {
    assert.equal(normalizeIpLiteral(ip), null, ip);
  }
});

Deno.test("normalizeIpLiteral prints IPv6 as inet_ntop does", () => {
  const cases: [string, string][] = [
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4"],
    ["0:0:0:0:0:ffff:102:304", "::ffff:1.2.3.4"],
    ["::ffff:0:1.2.3.4", "::ffff:0:102:304"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::1.2.3.4", "::1.2.3.4"],
    ["::1:2", "::0.1.0.2"],
    ["::0.0.0.1", "::1"],
    ["1::", "1::"],
    ["ABCD::EF", "abcd::ef"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"],
    ["0:0:1:0:0:0:0:0", "0:0:1::"],
    ["::", "::"],
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
    ["fe80::0001", "fe80::1"],
    ["::a:b:c:d:1.2.3.4", "::a:b:c:d:102:304"],
    ["a:b:c:d:e:f:0:0", "a:b:c:d:e:f::"],
    ["0:0:a:b:c:d:e:f", "::a:b:c:d:e:f"],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeIpLiteral(input), expected, input);
});

Deno.test("normalizeIpLiteral rejects what inet_pton rejects for IPv6", () => {
  const invalid = [
    "1::2::3",
    "[::1]",
    "::1%lo",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "::1.2.3",
    ":1::",
    "1:2:3:4:5:6:7:1.2.3.4",
    "1:2:3:4:5:6:7::8",
    "00001::",
    "1:2:3:4:5:6:7:",
    "::01.2.3.4",
    "::1.2.3.04",
    ":::",
    "1.2.3.4::",
    "::g",
  ];
  for (const ip of invalid) assert.equal(normalizeIpLiteral(ip), null, ip);
});
