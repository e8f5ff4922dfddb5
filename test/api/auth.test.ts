// The auth pieces on their own: generated passwords, scrypt hashes, the login throttle, tokens,
// the passwords file; and that the contract schemas do reject wrong shapes (they are not vacuous).
import assert from "node:assert/strict";
import { scryptSync } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createLoginThrottle } from "../../src/api/auth/login-throttle.ts";
import { generatePassword, hashPassword, PASSWORD_ALPHABET, verifyPassword } from "../../src/api/auth/passwords.ts";
import { roleAtLeast } from "../../src/api/auth/roles.ts";
import { readPasswordsFile, writePasswordEntry } from "../../src/api/auth/simple-auth-manager.ts";
import { createTokenSigner, loadOrCreateJwtSecret } from "../../src/api/auth/tokens.ts";
import { tempHome } from "../helpers/home.ts";
import { assertShape } from "./schemas.ts";

describe("passwords", () => {
  test("generated: 20 characters, none of 0 O o 1 l I, all different across calls", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword();
      assert.equal(p.length, 20);
      assert.doesNotMatch(p, /[0Oo1lI]/);
      for (const ch of p) assert.ok(PASSWORD_ALPHABET.includes(ch), "expected PASSWORD_ALPHABET.includes(ch)");
      seen.add(p);
    }
    assert.equal(seen.size, 200);
  });

  test("scrypt hash: verifies the password, refuses another, holds no plain text, salted", async () => {
    const h = await hashPassword("correct horse");
    assert.match(h, /^scrypt\$16384\$8\$1\$/);
    assert.ok(!h.includes("correct horse"), "expected !h.includes(\"correct horse\")");
    assert.equal(await verifyPassword("correct horse", h), true);
    assert.equal(await verifyPassword("correct horsE", h), false);
    assert.notEqual(await hashPassword("correct horse"), h, "a new salt each time");
    assert.equal(await verifyPassword("x", "not-a-hash"), false);
    // The hash (computed in a child process) is scrypt's own: recomputed here in-process.
    const [, , , , salt, key] = h.split("$");
    assert.equal(scryptSync("correct horse", Buffer.from(salt, "base64"), 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }).toString("base64"), key);
  });
});

describe("login throttle", () => {
  test("five failures in the window lock the address out; others and later attempts are not", () => {
    const t = createLoginThrottle({ maxFailures: 5, windowMs: 60_000 });
    for (let i = 0; i < 4; i++) t.failed("a", 1000 + i);
    assert.equal(t.retryAfter("a", 1010), 0);
    t.failed("a", 1010);
    assert.equal(t.retryAfter("a", 1011), 60);
    assert.equal(t.retryAfter("b", 1011), 0, "another address is not affected");
    assert.equal(t.retryAfter("a", 1010 + 60_001), 0, "the window passes");
    t.failed("c", 0);
    t.succeeded("c");
    assert.equal(t.retryAfter("c", 1), 0);
  });
});

describe("roles", () => {
  test("each role may what the ones below may", () => {
    assert.ok(roleAtLeast("admin", "op") && roleAtLeast("op", "user") && roleAtLeast("user", "viewer"), "expected roleAtLeast(\"admin\", \"op\") && roleAtLeast(\"op\", \"user\") && roleAtLeast(\"user\", \"viewer\")");
    assert.ok(!roleAtLeast("viewer", "user") && !roleAtLeast("user", "op") && !roleAtLeast("op", "admin"), "expected !roleAtLeast(\"viewer\", \"user\") && !roleAtLeast(\"user\", \"op\") && !roleAtLeast(\"op\", \"admin\")");
  });
});

describe("tokens and files", () => {
  test("the JWT key is created once, 0600, and reused; a token verifies, a tampered one does not", async () => {
    const h = await tempHome("orch-auth-");
    try {
      const path = join(h.home, "k.key");
      const a = loadOrCreateJwtSecret(path);
      const b = loadOrCreateJwtSecret(path);
      assert.deepEqual(Buffer.from(a), Buffer.from(b));
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const signer = createTokenSigner(a, 60);
      const tok = await signer.issue({ username: "u", role: "op" });
      assert.deepEqual(await signer.verify(tok), { ok: true, username: "u", role: "op" });
      const other = createTokenSigner(loadOrCreateJwtSecret(join(h.home, "other.key")), 60);
      assert.equal((await other.verify(tok)).ok, false, "another key refuses it");
      assert.equal((await signer.verify(`${tok}x`)).ok, false);
      const expired = createTokenSigner(a, -10);
      assert.deepEqual(await signer.verify(await expired.issue({ username: "u", role: "op" })), { ok: false, reason: "Token has expired" });
    } finally {
      await h.cleanup();
    }
  });

  test("the passwords file is JSON {user: password}, 0600; entries are added and removed", async () => {
    const h = await tempHome("orch-auth-");
    try {
      const path = join(h.home, "simple_auth_manager_passwords.json.generated");
      writePasswordEntry(path, "admin", "pw-one");
      writePasswordEntry(path, "bob", "pw-two");
      assert.deepEqual(JSON.parse(readFileSync(path, "utf8")), { admin: "pw-one", bob: "pw-two" });
      assert.equal(statSync(path).mode & 0o777, 0o600);
      writePasswordEntry(path, "bob", null);
      assert.deepEqual(readPasswordsFile(path), { admin: "pw-one" });
    } finally {
      await h.cleanup();
    }
  });
});

describe("contract schemas", () => {
  test("reject a missing required field, a wrong type, a bad enum and a bad date", () => {
    const run = {
      dag_run_id: "r", dag_id: "d", logical_date: null, queued_at: null, start_date: null, end_date: null, duration: null,
      data_interval_start: null, data_interval_end: null, run_after: "2024-01-01T00:00:00.000Z", last_scheduling_decision: null,
      run_type: "manual", state: "queued", triggered_by: "rest_api", triggering_user_name: null, conf: {}, note: null,
      dag_versions: [], bundle_version: null, dag_display_name: "d",
    };
    assertShape("DAGRunResponse", run);
    const { note: _drop, ...noNote } = run;
    assert.throws(() => assertShape("DAGRunResponse", noNote), /note/);
    assert.throws(() => assertShape("DAGRunResponse", { ...run, duration: "1s" }), /duration/);
    assert.throws(() => assertShape("DAGRunResponse", { ...run, state: "done" }), /state/);
    assert.throws(() => assertShape("DAGRunResponse", { ...run, run_after: "yesterday" }), /run_after/);
    assert.throws(() => assertShape("HTTPValidationError", { detail: [{ loc: ["body"], msg: "x" }] }), /type/);
  });
});
