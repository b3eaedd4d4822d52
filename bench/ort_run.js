// ONNX Runtime reference for bench/run.sh (npm onnxruntime-node, installed
// into bench/ort/node_modules by run.sh):
//
//     node bench/ort_run.js MODEL.onnx IDS_JSONL THREADS OUT.npy
//
// Runs bench/onnx_export.py's graph on `scivec tokenize`'s token ids, one
// text per call (no padding: scivec packs texts without padding too), with
// THREADS intra-op threads and every graph optimisation; mean-pools the last
// hidden state into OUT.npy [n_texts, hidden] float32. Like
// bench/torch_reference.py it times the encode loop only (not the load) and
// prints one JSON line: engine, threads, tokens, seconds, cpu_seconds.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'ort', 'node_modules', 'onnxruntime-node'));

function writeNpy(file, rows, dim, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'),
                                        Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  const [modelPath, idsPath, threadsArg, outPath] = process.argv.slice(2);
  const threads = parseInt(threadsArg, 10);
  if (!outPath || !(threads >= 1)) {
    console.error('usage: node bench/ort_run.js MODEL.onnx IDS_JSONL THREADS OUT.npy');
    process.exit(2);
  }
  const seqs = fs.readFileSync(idsPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  let out = null, dim = 0, tokens = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < seqs.length; i++) {
    const ids = seqs[i].input_ids, n = ids.length;
    tokens += n;
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, n]),
      token_type_ids: new ort.Tensor('int64', BigInt64Array.from(seqs[i].token_type_ids, BigInt), [1, n]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    };
    const h = (await session.run(feeds)).last_hidden_state;
    if (!out) { dim = h.dims[2]; out = new Float32Array(seqs.length * dim); }
    const row = out.subarray(i * dim, (i + 1) * dim);
    for (let t = 0; t < n; t++)
      for (let d = 0; d < dim; d++) row[d] += h.data[t * dim + d];
    for (let d = 0; d < dim; d++) row[d] /= n;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  writeNpy(outPath, seqs.length, dim, out);
  console.log(JSON.stringify({engine: 'onnxruntime', ort: ort.env.versions.common, threads,
                              n_texts: seqs.length, tokens, seconds,
                              cpu_seconds: (cpu.user + cpu.system) / 1e6, tokens_per_s: tokens / seconds}));
}

main().catch((e) => { console.error(`ort_run: ${e.message || e}`); process.exit(1); });
