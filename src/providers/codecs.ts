// Page decompressors for the Parquet reader, loaded on first use of each codec. A TLC month is ZSTD
// (the green months are), so start-up cost matters as much as speed: a task decodes one file in a
// fresh worker, where a JavaScript decoder runs mostly before the JIT has warmed up.
//   ZSTD          zstddec (the reference C decoder compiled to WebAssembly: ~1 ms to instantiate,
//                 no warm-up); was fzstd (JavaScript), ~100 ms cold for the 1.8 MB of a green month
//   GZIP, BROTLI  node:zlib (native)
//   SNAPPY, LZ4, LZ4_RAW  hyparquet-compressors, imported only when a file uses one (its import
//                 builds gzip/brotli tables, ~30 ms, for nothing when the file is ZSTD)
//
//   const compressors = await codecsFor(meta.codec); // then decompressPage(..., codec, compressors)
import type { CompressionCodec, Compressors } from "hyparquet";
import { brotliDecompressSync, gunzipSync } from "node:zlib";

type Decompress = (input: Uint8Array, outputLength: number) => Uint8Array;

const loaded: Compressors = {
  GZIP: (input, length) => view(gunzipSync(input, { maxOutputLength: Math.max(length, 1) })),
  BROTLI: (input, length) => view(brotliDecompressSync(input, { maxOutputLength: Math.max(length, 1) })),
};
const loading = new Map<CompressionCodec, Promise<void>>();

function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

async function loadZstd(): Promise<Decompress> {
  const { ZSTDDecoder } = await import("zstddec");
  const z = new ZSTDDecoder();
  // zstddec instantiates its module through fetch() of a data: URL when fetch exists; on Node that
  // first call loads the built-in fetch (~25 ms). Without fetch it takes Buffer.from(base64) (~1 ms).
  // init() reads `fetch` synchronously, so hiding it for that one call touches nothing else.
  const g = globalThis as { fetch?: unknown };
  const desc = Object.getOwnPropertyDescriptor(globalThis, "fetch");
  let ready: Promise<void>;
  if (desc?.configurable) {
    delete g.fetch;
    try {
      ready = z.init();
    } finally {
      Object.defineProperty(globalThis, "fetch", desc);
    }
  } else ready = z.init();
  await ready;
  return (input, length) => z.decode(input, length);
}

async function load(codec: CompressionCodec): Promise<void> {
  if (codec === "ZSTD") {
    loaded.ZSTD = await loadZstd();
    return;
  }
  if (codec === "SNAPPY" || codec === "LZ4" || codec === "LZ4_RAW") {
    const { compressors } = await import("hyparquet-compressors");
    loaded[codec] = compressors[codec];
  }
  // UNCOMPRESSED, and anything else: hyparquet's decompressPage handles or rejects it.
}

/** The decompressors map with `codec` ready (loads it on first use; concurrent callers share the load). */
export async function codecsFor(codec: CompressionCodec): Promise<Compressors> {
  if (codec === "UNCOMPRESSED" || loaded[codec]) return loaded;
  let p = loading.get(codec);
  if (!p) {
    p = load(codec);
    loading.set(codec, p);
    p.catch(() => loading.delete(codec));
  }
  await p;
  return loaded;
}

/** Starts loading the decompressors of `codecs` now (e.g. when the footer is read), without waiting. */
export function preloadCodecs(codecs: Iterable<CompressionCodec>): void {
  for (const c of new Set(codecs)) codecsFor(c).catch(() => {});
}
