// The worker's side of a read (protocol.ts): a `read` message out, the matching `read-answer` in.
// One pending map for the process; a task that ends or a parent that goes away fails what is
// still waiting instead of leaving it hanging.
import type { FromWorker, TaskRead, TaskReadResult, ToWorker } from "./protocol.ts";

type Answer = Extract<ToWorker, { type: "read-answer" }>;

export type ReadFn = (reads: TaskRead[]) => Promise<TaskReadResult[]>;

const pending = new Map<number, { resolve(r: TaskReadResult[]): void; reject(e: Error): void }>();
let nextId = 1;

/** Reads for the task instance `tiId`, sent through `send`. */
export function readerFor(tiId: number, send: (m: FromWorker) => boolean): ReadFn {
  return (reads) => {
    if (reads.length === 0) return Promise.resolve([]);
    const readId = nextId++;
    return new Promise<TaskReadResult[]>((resolve, reject) => {
      pending.set(readId, { resolve, reject });
      if (!send({ type: "read", tiId, readId, reads })) {
        pending.delete(readId);
        reject(new Error("cannot read from the scheduler: the worker lost its parent process"));
      }
    });
  };
}

export function onReadAnswer(m: Answer): void {
  const p = pending.get(m.readId);
  if (!p) return;
  pending.delete(m.readId);
  if ("error" in m) p.reject(new Error(m.error));
  else p.resolve(m.results);
}

/** Fails every read still waiting (the parent is gone). */
export function failPendingReads(reason: string): void {
  for (const p of pending.values()) p.reject(new Error(reason));
  pending.clear();
}
