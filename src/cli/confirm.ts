// Asking before destroying something. Without a terminal there is nobody to ask, so a destructive
// command refuses unless --yes says the caller meant it.
import { createInterface } from "node:readline/promises";
import { OrchError } from "../errors.ts";

export async function confirmOrRefuse(question: string, opts: { yes: boolean; flag?: string }): Promise<boolean> {
  if (opts.yes) return true;
  const flag = opts.flag ?? "--yes";
  if (!process.stdin.isTTY) {
    throw new OrchError("ORCH_CONFIRMATION_REQUIRED", `refusing: stdin is not a terminal, so nobody can confirm "${question}"; pass ${flag} to proceed`, { flag });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} (y/N) `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
