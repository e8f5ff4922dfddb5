// What a failed task's stack shows: the user's frames (the DAG file, the helpers it imports, their
// packages), mapped to .ts lines by the source maps; orch's own frames and Node's internals are
// trimmed, since they are the same in every failure and bury the line that matters.
import { orchInstall } from "../install.ts";

function isOrchFrame(line: string, root: string): boolean {
  return line.includes("node:internal") || line.includes(`${root}/dist/`) || line.includes(`${root}/src/`) || line.includes(`file://${root}/dist/`);
}

/** The stack without orch's frames; unchanged when every frame is orch's (a bug of orch's own). */
export function trimOrchFrames(stack: string | undefined, root = orchInstall().root): string | undefined {
  if (!stack) return stack;
  const lines = stack.split("\n");
  const isFrame = (l: string) => /^\s+at /.test(l);
  const frames = lines.filter(isFrame);
  const kept = frames.filter((l) => !isOrchFrame(l, root));
  if (kept.length === 0 || kept.length === frames.length) return stack;
  const head = lines.filter((l) => !isFrame(l));
  return [...head, ...kept, `    (${frames.length - kept.length} frames of orch and node internals trimmed)`].join("\n");
}
