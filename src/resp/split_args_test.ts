import assert from "node:assert/strict";
import { splitArgs } from "./split_args.ts";

Deno.test("splitArgs: words separated by any run of spaces, tabs and line ends", () => {
  assert.deepEqual(splitArgs("set  key\tvalue\r\n"), ["set", "key", "value"]);
  assert.deepEqual(splitArgs(""), []);
  assert.deepEqual(splitArgs(" \t\r\n\v\f "), []);
});

Deno.test("splitArgs: \\v and \\f are skipped between tokens but belong to an unquoted token", () => {
  assert.deepEqual(splitArgs("\va\vb\f c\f"), ["a\vb\f", "c\f"]);
});

Deno.test("splitArgs: double quotes understand C escapes and \\xHH", () => {
  assert.deepEqual(splitArgs(`"a\\nb\\rc\\td\\be\\af\\\\g\\"h\\zi"`), ['a\nb\rc\td\be\x07f\\g"hzi']);
  assert.deepEqual(splitArgs(`"\\x00\\x41\\xfF\\xg1"`), ["\x00A\xffxg1"]);
  assert.deepEqual(splitArgs(`"" "a b"`), ["", "a b"]);
});

Deno.test("splitArgs: single quotes understand only \\'", () => {
  assert.deepEqual(splitArgs(`'a\\'b\\nc\\x'`), ["a'b\\nc\\x"]);
  // The backslash before the final quote escapes it, so the quote is never closed.
  assert.equal(splitArgs(`'a\\\\'`), null);
});

Deno.test("splitArgs: a quote inside a word starts a quoted part of the same token", () => {
  assert.deepEqual(splitArgs(`ab"c d" e'f g'`), ["abc d", "ef g"]);
});

Deno.test("splitArgs: a closing quote must be followed by a space or the end", () => {
  assert.equal(splitArgs(`"a"b`), null);
  assert.equal(splitArgs(`'a'b`), null);
  assert.deepEqual(splitArgs(`"a"\tb`), ["a", "b"]);
  assert.deepEqual(splitArgs(`"a"\vb`), ["a", "b"]);
});

Deno.test("splitArgs: unterminated quotes are unbalanced", () => {
  for (const line of [`"a`, `'a`, `"a\\"`, `'a\\'`, `"\\`, `x "y`]) assert.equal(splitArgs(line), null, line);
});

Deno.test("splitArgs: a NUL byte ends the line, as in C", () => {
  assert.deepEqual(splitArgs("a b\0c d"), ["a", "b"]);
  assert.deepEqual(splitArgs('"a\0b"'), null);
  assert.deepEqual(splitArgs('"\\x00"'), ["\0"]);
});

Deno.test("splitArgs: bytes above 0x7f are plain characters", () => {
  assert.deepEqual(splitArgs("caf\xc3\xa9 \xa0\xff"), ["caf\xc3\xa9", "\xa0\xff"]);
});
