// Reading a task log from a byte offset, for the API's and CLI's tailing: ask again with
// `nextOffset` to get what was written since.
import { open } from "node:fs/promises";

export interface ReadTaskLogOptions {
  /** Byte offset to start at (a previous nextOffset); default 0. */
  offset?: number;
  /** Most bytes returned per call; default 1 MiB. */
  maxBytes?: number;
}

export interface TaskLogChunk {
  /** The text from offset on: whole lines, except a line longer than maxBytes (in pieces) and an
   * unterminated last line of the file. */
  content: string;
  nextOffset: number;
  /** False when there is no file (yet): the attempt has not started or logs were removed. */
  exists: boolean;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;

export async function readTaskLog(path: string, options: ReadTaskLogOptions = {}): Promise<TaskLogChunk> {
  const offset = Math.max(0, Math.floor(options.offset ?? 0));
  const maxBytes = Math.max(4, Math.floor(options.maxBytes ?? DEFAULT_MAX_BYTES));
  let handle;
  try {
    handle = await open(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { content: "", nextOffset: 0, exists: false };
    throw e;
  }
  try {
    const size = (await handle.stat()).size;
    // An offset past the end means the file was replaced by a shorter one: start over from there on.
    if (offset >= size) return { content: "", nextOffset: Math.min(offset, size), exists: true };
    const buf = Buffer.alloc(Math.min(maxBytes, size - offset));
    const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
    const atEof = offset + bytesRead >= size;
    const end = cutPoint(buf.subarray(0, bytesRead), atEof);
    return { content: buf.subarray(0, end).toString("utf8"), nextOffset: offset + end, exists: true };
  } finally {
    await handle.close();
  }
}

/** Where to end a chunk: when maxBytes cut it, after its last newline, so no line is split between
 * two reads; otherwise (end of file, or one line longer than maxBytes) at the last whole UTF-8
 * character. */
function cutPoint(buf: Buffer, atEof: boolean): number {
  if (!atEof) {
    const nl = buf.lastIndexOf(0x0a);
    if (nl !== -1) return nl + 1;
  }
  let end = buf.length;
  // Step back over continuation bytes (10xxxxxx) to the lead byte; drop it if its sequence is incomplete.
  let i = end - 1;
  while (i > 0 && end - i < 4 && (buf[i] & 0xc0) === 0x80) i--;
  const lead = buf[i];
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (i + need > end) end = i;
  return end;
}
