import assert from "node:assert/strict";
import { DIRECTIVES } from "../src/config/directives.ts";
import { globMatch } from "../src/store/glob.ts";

const DOC = new URL("../docs/compatibility.md", import.meta.url);

/** The backticked names and globs of the "Accepted without effect" list. */
async function documentedWithoutEffect(): Promise<string[]> {
  const text = await Deno.readTextFile(DOC);
  const start = text.indexOf("### Accepted without effect");
  const end = text.indexOf("\n### ", start + 1);
  assert.ok(start !== -1 && end !== -1, "docs/compatibility.md has the section");
  const section = text.slice(start, end);
  return [...section.matchAll(/`([a-z0-9_*-]+)`/g)].map((m) => m[1]);
}

Deno.test("docs/compatibility.md lists exactly the directives accepted without effect", async () => {
  const documented = await documentedWithoutEffect();
  const matches = (name: string) => documented.some((pattern) => globMatch(pattern, name));
  for (const d of DIRECTIVES) {
    if (d.noEffect) assert.ok(matches(d.name), `${d.name} has no effect but is not listed`);
    else assert.ok(!documented.includes(d.name), `${d.name} has an effect but is listed as without one`);
  }
});
