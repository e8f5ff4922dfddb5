import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateParams } from "../src/params/validate.ts";

const PARAMS = {
  limit: { default: 100, schema: { type: "integer", minimum: 1 }, description: null },
  month: { default: "2024-01", schema: { type: "string", pattern: "^\\d{4}-\\d{2}$" }, description: null },
  color: { default: null, schema: { type: "string", enum: ["red", "blue"] }, description: null },
  note: { default: null, schema: {}, description: null },
};

describe("validateParams", () => {
  it("merges conf over defaults and keeps extra conf keys", () => {
    const r = validateParams(PARAMS, { limit: 5, color: "red", extra: [1] });
    assert.deepEqual(r, { ok: true, values: { limit: 5, month: "2024-01", color: "red", note: null, extra: [1] } });
  });

  it("names the field and the rule that failed", () => {
    const r = validateParams(PARAMS, { limit: 0, month: "January", color: "green" });
    assert.equal(r.ok, false);
    if (r.ok) return;
    const byField = Object.fromEntries(r.errors.map((e) => [e.field, e.rule]));
    assert.deepEqual(byField, { limit: "minimum", month: "pattern", color: "enum" });
    assert.match(r.errors.find((e) => e.field === "color")!.message, /red.*blue/);
  });

  it("a param without a default must come from conf unless its schema allows null", () => {
    const r = validateParams(PARAMS, {});
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.errors.map((e) => [e.field, e.rule]), [["color", "required"]]);
  });

  it("checks nested values with a path", () => {
    const r = validateParams({ cfg: { default: { n: 1 }, schema: { type: "object", properties: { n: { type: "integer" } } }, description: null } }, { cfg: { n: "x" } });
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.errors.map((e) => [e.field, e.rule]), [["cfg.n", "type"]]);
  });
});
