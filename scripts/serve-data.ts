// Serves a folder over HTTP on 127.0.0.1 in the TLC URL layout, for tests and demos:
//   /trip-data/yellow_tripdata_2024-01.parquet   -> DIR/yellow_tripdata_2024-01.parquet
//   /misc/taxi_zone_lookup.csv                   -> DIR/taxi_zone_lookup.csv
// (any other /a/b/name also maps to DIR/name). Faults on demand: answer slowly (--slow-ms, before
// headers and between chunks), fail with 503 the first N requests of each path (--fail-times), or
// announce the full Content-Length and cut the body off after N bytes (--cut-after).
//
//   node --import tsx scripts/serve-data.ts --dir D --port P [--slow-ms N] [--fail-times N] [--cut-after BYTES]
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface ServeOptions {
  dir: string;
  port?: number;
  slowMs?: number;
  failTimes?: number;
  cutAfter?: number;
}

export interface DataServer {
  url: string;
  /** Requests seen per path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function serveData(o: ServeOptions): Promise<DataServer> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      if (o.slowMs) await sleep(o.slowMs);
      if (o.failTimes && n <= o.failTimes) {
        res.writeHead(503, { "content-type": "text/plain" }).end("try again later\n");
        return;
      }
      const name = basename(path);
      const file = join(o.dir, name);
      const st = name && !name.startsWith(".") ? await stat(file).catch(() => undefined) : undefined;
      if (!st?.isFile()) {
        res.writeHead(404, { "content-type": "text/html" }).end(`<!DOCTYPE html><html><body><h1>404 Not Found</h1>${name}</body></html>\n`);
        return;
      }
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": st.size });
      if (req.method === "HEAD") return void res.end();
      let sent = 0;
      const stream = createReadStream(file, { highWaterMark: 64 * 1024 });
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (o.cutAfter !== undefined && sent + chunk.length > o.cutAfter) {
          const part = chunk.subarray(0, Math.max(0, o.cutAfter - sent));
          if (part.length) res.write(part);
          await sleep(20);
          stream.destroy();
          res.socket?.destroy();
          return;
        }
        sent += chunk.length;
        if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
        if (o.slowMs) await sleep(o.slowMs);
      }
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function main(argv: string[]): Promise<void> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) args.set(argv[i].replace(/^--/, ""), argv[i + 1]);
  const dir = args.get("dir");
  if (!dir) throw new Error("usage: serve-data.ts --dir D [--port P] [--slow-ms N] [--fail-times N] [--cut-after BYTES]");
  const num = (k: string) => (args.has(k) ? Number(args.get(k)) : undefined);
  const s = await serveData({ dir: resolve(dir), port: num("port") ?? 0, slowMs: num("slow-ms"), failTimes: num("fail-times"), cutAfter: num("cut-after") });
  console.log(`serving ${resolve(dir)} at ${s.url}/trip-data/`);
  const stop = () => void s.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(e.message);
    process.exit(2);
  });
}
