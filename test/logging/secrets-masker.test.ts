import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSecretsMasker, shouldMaskKey, DEFAULT_SENSITIVE_FIELDS, MIN_LENGTH_TO_MASK } from "../../src/logging/index.ts";

describe("shouldMaskKey", () => {
  it("matches Airflow's sensitive names as substrings, ignoring case and punctuation", () => {
    for (const name of ["password", "DB_PASSWORD", "my-api-key", "X-Api-Key", "apikey", "Authorization", "aws.secret.access", "github_token", "gcp keyfile_dict", "service-account-json", "ssh_private_key", "passphrase", "passwd"]) {
      assert.equal(shouldMaskKey(name), true, name);
    }
    for (const name of ["host", "login", "port", "schema", "month", "bucket_name"]) {
      assert.equal(shouldMaskKey(name), false, name);
    }
  });

  it("includes every name the brief and Airflow 3.0 list", () => {
    for (const f of ["access_token", "api_key", "apikey", "authorization", "passphrase", "passwd", "password", "private_key", "secret", "token", "keyfile_dict", "service_account"]) {
      assert.ok(DEFAULT_SENSITIVE_FIELDS.includes(f), f);
    }
  });

  it("takes extra sensitive names", () => {
    const m = createSecretsMasker({ sensitiveFields: ["Bucket"] });
    assert.equal(m.shouldMaskKey("bucket_name"), true);
    assert.equal(shouldMaskKey("bucket_name"), false);
  });
});

describe("createSecretsMasker", () => {
  it("replaces every occurrence of every registered secret", () => {
    const m = createSecretsMasker();
    m.addSecret("hunter22");
    m.addSecret("s3cr3t.value");
    assert.equal(m.mask("login hunter22 then hunter22; key=s3cr3t.value"), "login *** then ***; key=***");
    // Regex metacharacters in a secret are literal: "." must not match any character.
    assert.equal(m.mask("s3cr3tXvalue"), "s3cr3tXvalue");
  });

  it("leaves text alone when nothing is registered", () => {
    assert.equal(createSecretsMasker().mask("nothing to hide"), "nothing to hide");
  });

  it("ignores secrets shorter than Airflow's minimum, and the word airflow", () => {
    assert.equal(MIN_LENGTH_TO_MASK, 5);
    const m = createSecretsMasker();
    m.addSecret("abcd");
    m.addSecret("Airflow");
    m.addSecret("abcde");
    assert.equal(m.mask("abcd airflow abcde"), "abcd airflow ***");
    assert.equal(m.size, 1);
  });

  it("masks the URL-encoded forms of a secret", () => {
    const m = createSecretsMasker();
    const secret = "p@ss w/rd:!";
    m.addSecret(secret);
    const uriPython = "postgres://user:p%40ss%20w/rd%3A%21@host/db";
    const uriJs = `postgres://user:${encodeURIComponent(secret)}@host/db`;
    const form = "password=p%40ss+w%2Frd%3A%21&x=1";
    assert.equal(m.mask(uriPython), "postgres://user:***@host/db");
    assert.equal(m.mask(uriJs), "postgres://user:***@host/db");
    assert.equal(m.mask(form), "password=***&x=1");
    assert.equal(m.mask(`raw ${secret}`), "raw ***");
  });

  it("prefers the longer secret when one is a prefix of another", () => {
    const m = createSecretsMasker();
    m.addSecret("abcdef");
    m.addSecret("abcdefghijkl");
    assert.equal(m.mask("x abcdefghijkl y abcdef z"), "x *** y *** z");
  });

  it("with a name, registers the value only when the name looks sensitive", () => {
    const m = createSecretsMasker();
    m.addSecret("db.example.com", "host");
    m.addSecret("correct-horse", "password");
    assert.equal(m.mask("db.example.com correct-horse"), "db.example.com ***");
  });

  it("walks objects by key name and arrays element by element, as Airflow's add_mask", () => {
    const m = createSecretsMasker();
    m.addSecret({ region: "eu-west-1", api_key: "key-123456", nested: { client_secret: "cs-abcdef" }, tokens: ["tok-111111", "tok-222222"] });
    assert.equal(m.mask("eu-west-1 key-123456 cs-abcdef tok-111111 tok-222222"), "eu-west-1 *** *** *** ***");
  });

  it("picks up secrets added after masking began", () => {
    const m = createSecretsMasker();
    m.addSecret("first-secret");
    assert.equal(m.mask("first-secret second-secret"), "*** second-secret");
    m.addSecret("second-secret");
    assert.equal(m.mask("first-secret second-secret"), "*** ***");
  });

  it("handles thousands of secrets in one pass", () => {
    const m = createSecretsMasker();
    for (let i = 0; i < 5000; i++) m.addSecret(`secret-${i}-${(i * 7919).toString(36)}`);
    const line = `a secret-4999-${(4999 * 7919).toString(36)} b secret-0-0 c secret-12-${(12 * 7919).toString(36)}`;
    assert.equal(m.mask(line), "a *** b *** c ***");
  });
});
