#!/usr/bin/env node
// Run an ONNX model with ONNX Runtime (CPU) on one .npy input and write the
// requested outputs as .npy files: the ORT half of mint's golden references
// (tools/make_fixtures.py calls this). Tensors that are not graph outputs
// must first be added to graph.output (make_fixtures.py does that on a copy).
//
//   node tools/ort_run.js MODEL.onnx --input data=in.npy \
//        --out TENSOR_NAME=out.npy [--out ...] [--threads 1] [--opt all]
'use strict';
const path = require('path');
const { readNpy, writeNpy } = require('./npy.js');

function usage(msg) {
  if (msg) console.error(`ort_run: ${msg}`);
  console.error('usage: node tools/ort_run.js MODEL.onnx --input NAME=in.npy ' +
    '--out TENSOR=out.npy [--out ...] [--threads N] [--opt disabled|basic|extended|all]');
  process.exit(2);
}

function splitPair(s, flag) {
  // Tensor names may contain '=' in theory; the file is after the last '='.
  const i = s.lastIndexOf('=');
  if (i <= 0 || i === s.length - 1) usage(`${flag} wants NAME=FILE, got '${s}'`);
  return [s.slice(0, i), s.slice(i + 1)];
}

async function main() {
  const argv = process.argv.slice(2);
  let model = null;
  const inputs = [];
  const outs = [];
  let threads = 1;
  let opt = 'all';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--input') inputs.push(splitPair(argv[++i] || '', a));
    else if (a === '--out') outs.push(splitPair(argv[++i] || '', a));
    else if (a === '--threads') threads = Number(argv[++i]);
    else if (a === '--opt') opt = argv[++i];
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (model === null) model = a;
    else usage(`extra argument ${a}`);
  }
  if (!model || inputs.length === 0 || outs.length === 0) usage();

  const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: opt,
  });
  const feeds = {};
  for (const [name, file] of inputs) {
    const { dims, data } = readNpy(file);
    feeds[name] = new ort.Tensor('float32', data, dims);
  }
  const results = await session.run(feeds, outs.map(([name]) => name));
  for (const [name, file] of outs) {
    const t = results[name];
    if (!t) throw new Error(`no output '${name}'`);
    if (t.type !== 'float32') throw new Error(`output '${name}' is ${t.type}`);
    writeNpy(file, t.dims.map(Number), t.data);
    console.log(`${name} [${t.dims.join(',')}] -> ${file}`);
  }
  console.log(`onnxruntime-node ${ort.env.versions ? ort.env.versions.node : '?'}`);
}

main().catch((e) => { console.error(`ort_run: ${e.message || e}`); process.exit(1); });
