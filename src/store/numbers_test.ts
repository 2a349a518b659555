import assert from "node:assert/strict";
import { isIntEncodable, parseInt64 } from "./numbers.ts";
import { addLongDouble, formatLongDoubleHuman, parseLongDouble } from "./long_double.ts";
import { globMatch } from "./glob.ts";

Deno.test("parseInt64 follows string2ll", () => {
  assert.equal(parseInt64("0"), 0);
  assert.equal(parseInt64("-15"), -15);
  assert.equal(parseInt64("9007199254740993"), 9007199254740993n);
  assert.equal(parseInt64("-9223372036854775808"), -9223372036854775808n);
  for (const bad of ["", "-", "-0", "01", "+1", " 1", "1 ", "1.0", "9223372036854775808", "1e3"]) {
    assert.equal(parseInt64(bad), null, bad);
  }
  assert.equal(isIntEncodable("123456789012345678901"), false);
});

Deno.test("long double sums print like Redis's %.17Lf", () => {
  const sum = (a: string, b: string) => formatLongDoubleHuman(addLongDouble(parseLongDouble(a)!, parseLongDouble(b)!));
  assert.equal(sum("10.5", "0.1"), "10.6");
  assert.equal(sum("0.1", "0.2"), "0.3");
  assert.equal(sum("5", "-5"), "0");
  assert.equal(sum("1e18", "1"), "1000000000000000001");
  assert.equal(sum("1e20", "1"), "100000000000000000000", "below the 64-bit mantissa's resolution");
  assert.equal(parseLongDouble("nan"), null);
  assert.equal(parseLongDouble("1e99999"), null);
});

Deno.test("glob matching follows stringmatchlen", () => {
  assert.ok(globMatch("h[a-e]llo", "hello"));
  assert.ok(!globMatch("h[^e]llo", "hello"));
  assert.ok(!globMatch("*", ""), "as in Redis: callers special-case a lone *");
  assert.ok(globMatch("a\\*", "a*"));
  assert.ok(!globMatch("a\\*", "ab"));
  assert.ok(globMatch("CONFIG*", "config-x", true));
  assert.ok(!globMatch("a*a*a*a*a*a*a*a*b", "a".repeat(40)));
});
