#!/usr/bin/env node
// ONNX Runtime (CPU) peer benchmark for mint's model benchmarks: ms per image
// of an ONNX model at each batch size x intra-op thread count.
//
//   node bench/ort_bench.js MODEL.onnx [--batch 1,8] [--threads 1,2]
//        [--runs 10] [--warmup 2] [--shape 3,112,112] [--opt all]
//
// Needs onnxruntime-node in tools/node_modules (cd tools && npm ci
// --ignore-scripts). Session options: intraOpNumThreads = T,
// interOpNumThreads = 1, graphOptimizationLevel 'all', sequential execution.
// Before timing, each configuration is checked: outputs finite, and image 0
// of the batch gives the same output as a batch of 1.
//
// Output (one line each, space-separated key=value, stable order):
//   ort_bench version=... model=... input=... shape=... outputs=...
//   ort_bench_result model=M batch=B threads=T runs=R warmup=W
//       ms_per_image_median=.. ms_per_image_min=.. ms_per_image_max=..
//       ms_per_batch_median=.. images_per_s=..
// (the result is a single line; wrapped here for reading)
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');

const ROOT = path.resolve(__dirname, '..');
const ORT_PATH = path.join(ROOT, 'tools', 'node_modules', 'onnxruntime-node');

function usage(msg) {
  if (msg) console.error(`ort_bench: ${msg}`);
  console.error('usage: node bench/ort_bench.js MODEL.onnx [--batch 1,8] [--threads 1,2] ' +
    '[--runs N] [--warmup N] [--shape C,H,W] [--opt disabled|basic|extended|all]');
  process.exit(2);
}

function intList(s, flag) {
  const v = String(s || '').split(',').map(Number);
  if (!v.length || v.some((x) => !Number.isInteger(x) || x <= 0)) usage(`bad ${flag} '${s}'`);
  return v;
}

function parseArgs(argv) {
  const o = { model: null, batch: [1, 8], threads: [1, 2], runs: 10, warmup: 2,
    shape: null, opt: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--batch') o.batch = intList(argv[++i], a);
    else if (a === '--threads') o.threads = intList(argv[++i], a);
    else if (a === '--runs') o.runs = intList(argv[++i], a)[0];
    else if (a === '--warmup') { o.warmup = Number(argv[++i]); if (!(o.warmup >= 0)) usage('bad --warmup'); }
    else if (a === '--shape') o.shape = intList(argv[++i], a);
    else if (a === '--opt') o.opt = argv[++i];
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (!o.model) o.model = a;
    else usage(`extra argument ${a}`);
  }
  if (!o.model) usage('no model given');
  return o;
}

// Deterministic N(0,1) input (xorshift32 + Box-Muller): same data every run.
function randn(n, seed) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return (s + 0.5) / 4294967296; };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const t = 2 * Math.PI * next();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function inputShape(session, override) {
  if (override) return override;
  const md = session.inputMetadata;
  if (Array.isArray(md) && md[0] && Array.isArray(md[0].shape)) {
    const dims = md[0].shape.slice(1);
    if (dims.length && dims.every((d) => typeof d === 'number' && d > 0)) return dims;
  }
  return [3, 112, 112];
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(o.model)) usage(`no such model ${o.model}`);
  if (!fs.existsSync(ORT_PATH)) {
    console.error(`ort_bench: ${ORT_PATH} missing: run (cd tools && npm ci --ignore-scripts)`);
    process.exit(2);
  }
  const ort = require(ORT_PATH);
  const model = path.basename(o.model);
  let header = false;
  for (const threads of o.threads) {
    const session = await ort.InferenceSession.create(o.model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: o.opt,
    });
    const inName = session.inputNames[0];
    const outName = session.outputNames[0];
    const chw = inputShape(session, o.shape);
    const per = chw.reduce((a, b) => a * b, 1);
    if (!header) {
      console.log(`ort_bench version=${ort.env.versions.node} model=${model} input=${inName} ` +
        `shape=${chw.join('x')} outputs=${outName} node=${process.version} ` +
        `cpus=${os.cpus().length} loadavg1=${os.loadavg()[0].toFixed(2)}`);
      header = true;
    }
    // Reference: image 0 alone.
    const img0 = randn(per, 12345);
    const r1 = await session.run({ [inName]: new ort.Tensor('float32', img0, [1, ...chw]) });
    const ref = r1[outName].data;
    for (const batch of o.batch) {
      const data = new Float32Array(per * batch);
      data.set(img0, 0);
      if (batch > 1) data.set(randn(per * (batch - 1), 777 + batch), per);
      const feeds = { [inName]: new ort.Tensor('float32', data, [batch, ...chw]) };
      // Check before timing.
      const chk = (await session.run(feeds))[outName].data;
      const n = ref.length;
      let dot = 0, na = 0, nb = 0, finite = true;
      for (let i = 0; i < chk.length; i++) if (!Number.isFinite(chk[i])) finite = false;
      for (let i = 0; i < n; i++) { dot += ref[i] * chk[i]; na += ref[i] * ref[i]; nb += chk[i] * chk[i]; }
      const cos = dot / Math.sqrt(na * nb);
      if (!finite || !(cos > 0.9999)) {
        console.error(`ort_bench: check failed batch=${batch} threads=${threads} finite=${finite} cos=${cos}`);
        process.exit(1);
      }
      for (let i = 0; i < o.warmup; i++) await session.run(feeds);
      const times = [];
      for (let i = 0; i < o.runs; i++) {
        const t0 = process.hrtime.bigint();
        await session.run(feeds);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      const med = median(times);
      const f = (x) => x.toFixed(3);
      console.log(`ort_bench_result model=${model} batch=${batch} threads=${threads} ` +
        `runs=${o.runs} warmup=${o.warmup} ms_per_image_median=${f(med / batch)} ` +
        `ms_per_image_min=${f(Math.min(...times) / batch)} ` +
        `ms_per_image_max=${f(Math.max(...times) / batch)} ` +
        `ms_per_batch_median=${f(med)} images_per_s=${(1000 * batch / med).toFixed(2)}`);
    }
    if (session.release) await session.release();
  }
}

main().catch((e) => { console.error(`ort_bench: ${e.message || e}`); process.exit(1); });
