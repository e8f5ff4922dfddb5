// Passwords for the simple auth manager: generated from crypto.randomBytes without look-alike
// characters (a person copies them off a terminal), stored only as scrypt hashes.
import { spawn } from "node:child_process";
import { randomBytes, timingSafeEqual, type ScryptOptions } from "node:crypto";

// No 0/O/o, 1/l/I: the characters people misread when they type a password off a screen.
export const PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
export const GENERATED_PASSWORD_LENGTH = 20;

/** A random password; rejection sampling keeps every character equally likely. */
export function generatePassword(length = GENERATED_PASSWORD_LENGTH): string {
  const n = PASSWORD_ALPHABET.length;
  const limit = 256 - (256 % n);
  let out = "";
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit && out.length < length) out += PASSWORD_ALPHABET[b % n];
    }
  }
  return out;
}

// scrypt's interactive-login parameters (N=2^14, r=8, p=1): ~40 ms and 16 MiB per check here,
// slow enough to make guessing from a stolen store expensive, fast enough for a login.
const PARAMS = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const MAXMEM = 64 * 1024 * 1024;

// Each hash runs in a short-lived Node process. In-process, OpenSSL's 16 MiB work buffer is
// malloc'd on a libuv thread; freeing it raises glibc's mmap threshold, and the memory of later
// allocations stays resident in that thread's arena: six logins left a long-running api-server
// ~68 MB larger for good. A child gives it all back when it exits, for ~50 ms of start-up per login.
const CHILD = `let s="";process.stdin.setEncoding("utf8").on("data",(c)=>s+=c).on("end",()=>{const a=JSON.parse(s);require("node:crypto").scrypt(a.password,Buffer.from(a.salt,"base64"),a.keylen,a.opts,(e,k)=>{if(e){process.stderr.write(String(e.message));process.exit(1)}process.stdout.write(k.toString("base64"))})})`;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // No NODE_OPTIONS (a test runner's loader) and nothing else of this process's environment.
    const child = spawn(process.execPath, ["-e", CHILD], { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" } });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(Buffer.from(out, "base64")) : reject(new Error(`password hashing failed (exit ${code}): ${err.slice(0, 200)}`))));
    child.stdin.end(JSON.stringify({ password, salt: salt.toString("base64"), keylen, opts }));
  });
}

/** `scrypt$N$r$p$salt$hash`, salt and hash base64. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...PARAMS, maxmem: MAXMEM });
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], "base64");
  const expected = Buffer.from(parts[5], "base64");
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || expected.length === 0) return false;
  const key = await scrypt(password, salt, expected.length, { N, r, p, maxmem: MAXMEM });
  return timingSafeEqual(key, expected);
}
