#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node from the repository's node_modules) as octet's reference runtime.
//
//   node scripts/ort_run.js run MODEL --input-dir IN --output-dir OUT [--threads 2]
//       Runs every IN/*.npy (sorted by name) through the model's single input and writes the first
//       output to OUT/<same name>.npy, further outputs to OUT/<name>.<output name>.npy: the same
//       files as `octet run MODEL --input-dir IN --output-dir OUT`.
//   node scripts/ort_run.js bench MODEL --shape [NAME=]1x3x640x640 [--threads 2] [--time 10]
//                                 [--warmup 5] [--json FILE]
//       Warm-up runs, then runs on one seeded random input for --time seconds (at least 10 runs).
//       Prints and writes {"latency_ms": {"median", "p90", "min"}, "throughput_fps", ...}; the
//       percentiles interpolate linearly between sorted samples (numpy's default). A latency is
//       the wall time of one awaited session.run(), so it includes onnxruntime-node's JS/N-API
//       overhead (tens of microseconds).
//   node scripts/ort_run.js rss MODEL --shape [NAME=]1x3x640x640 [--threads 2] [--json FILE]
//       Loads the model, runs once, prints the process's peak resident set size (also the peak
//       before the model was loaded: node's own share).
//
// Sessions use intraOpNumThreads = --threads (default 2), interOpNumThreads = 1,
// graphOptimizationLevel 'all', executionMode 'sequential'.
// .npy files: format version 1 to 3, C order, little-endian float32, int64, int32, uint8, int8, bool.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', 'node_modules', 'onnxruntime-node'));

ort.env.logLevel = 'fatal'; // errors reach the user once, through fail(), not also as ORT log lines

// ---- .npy reading and writing ----------------------------------------------------------------

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
const NPY_HEADER_ALIGNMENT = 64;

// npy descr <-> ORT tensor type and typed array
const NPY_TYPES = [
  { descr: '<f4', type: 'float32', array: Float32Array },
  { descr: '<i8', type: 'int64', array: BigInt64Array },
  { descr: '<i4', type: 'int32', array: Int32Array },
  { descr: '|u1', type: 'uint8', array: Uint8Array },
  { descr: '|i1', type: 'int8', array: Int8Array },
  { descr: '|b1', type: 'bool', array: Uint8Array },
];

function readNpy(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(NPY_MAGIC)) {
    throw new Error(`${file}: not a .npy file`);
  }
  const major = bytes[6];
  let headerLength;
  let headerStart;
  if (major === 1) {
    headerLength = bytes.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    headerLength = bytes.readUInt32LE(8);
    headerStart = 12;
  } else {
    throw new Error(`${file}: unsupported .npy version ${major}`);
  }
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${file}: malformed .npy header: ${header}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-order arrays are not supported`);
  const kind = NPY_TYPES.find((t) => t.descr === descr[1] || t.descr === descr[1].replace('=', '<'));
  if (!kind) throw new Error(`${file}: unsupported dtype ${descr[1]}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  const byteLength = count * kind.array.BYTES_PER_ELEMENT;
  if (bytes.length - dataStart < byteLength) throw new Error(`${file}: truncated data`);
  // Copy into a fresh, aligned buffer: typed arrays need offsets aligned to their element size.
  const data = new kind.array(count);
  Buffer.from(data.buffer).set(bytes.subarray(dataStart, dataStart + byteLength));
  return new ort.Tensor(kind.type, data, dims);
}

function writeNpy(file, tensor) {
  const kind = NPY_TYPES.find((t) => t.type === tensor.type);
  if (!kind) throw new Error(`${file}: cannot write tensor type ${tensor.type}`);
  const dims = tensor.dims.map(String);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${kind.descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const preambleLength = 10; // magic, version, header length
  const padding = NPY_HEADER_ALIGNMENT - ((preambleLength + header.length + 1) % NPY_HEADER_ALIGNMENT);
  header += ' '.repeat(padding % NPY_HEADER_ALIGNMENT) + '\n';
  const preamble = Buffer.alloc(preambleLength);
  NPY_MAGIC.copy(preamble);
  preamble[6] = 1;
  preamble[7] = 0;
  preamble.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([preamble, Buffer.from(header, 'latin1'), body]));
}

// ---- command line ----------------------------------------------------------------------------

const USAGE = `usage:
  node scripts/ort_run.js run MODEL --input-dir IN --output-dir OUT [--threads N]
  node scripts/ort_run.js bench MODEL --shape [NAME=]1x3x640x640 [--threads N] [--time SEC] [--warmup N] [--json FILE]
  node scripts/ort_run.js rss MODEL --shape [NAME=]1x3x640x640 [--threads N] [--json FILE]`;

function fail(message) {
  console.error(`ort_run: error: ${message}`);
  process.exit(1);
}

function parseArguments(argv) {
  const [command, model, ...rest] = argv;
  if (!['run', 'bench', 'rss'].includes(command) || !model || model.startsWith('--')) {
    console.error(USAGE);
    process.exit(command === '--help' || command === '-h' ? 0 : 1);
  }
  const options = { threads: '2', time: '10', warmup: '5' };
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i];
    if (!flag.startsWith('--') || i + 1 >= rest.length) fail(`bad argument ${flag}\n${USAGE}`);
    options[flag.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = rest[i + 1];
  }
  if (!fs.existsSync(model)) fail(`no model file ${model}`);
  return { command, model, options };
}

function positiveNumber(options, name) {
  const value = Number(options[name]);
  if (!(value > 0)) fail(`--${name} must be a positive number, got ${options[name]}`);
  return value;
}

async function createSession(model, options) {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: positiveNumber(options, 'threads'),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
}

// "--shape x=1x3x640x640" or "--shape 1x3x640x640" (the model's first input)
function parseShape(session, text) {
  if (!text) fail('--shape is required');
  const [name, dims] = text.includes('=') ? text.split('=') : [session.inputNames[0], text];
  if (!session.inputNames.includes(name)) fail(`model has no input ${name} (inputs: ${session.inputNames})`);
  const shape = dims.split('x').map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 1)) fail(`bad shape ${dims}`);
  return { name, shape };
}

// Seeded uniform [-1, 1) data, so runs are repeatable (mulberry32 generator).
function randomInput(shape, seed = 1) {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let state = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return new ort.Tensor('float32', data, shape);
}

function percentile(sorted, fraction) {
  const position = (sorted.length - 1) * fraction;
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

function writeJson(file, value) {
  if (file) fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

// ---- commands --------------------------------------------------------------------------------

async function run(model, options) {
  const inputDir = options.inputDir;
  const outputDir = options.outputDir;
  if (!inputDir || !outputDir) fail('run needs --input-dir and --output-dir');
  if (!fs.existsSync(inputDir)) fail(`no input directory ${inputDir}`);
  const session = await createSession(model, options);
  if (session.inputNames.length !== 1) fail(`${model} has ${session.inputNames.length} inputs; run needs one`);
  const files = fs.readdirSync(inputDir).filter((f) => f.endsWith('.npy')).sort();
  if (files.length === 0) fail(`no .npy files in ${inputDir}`);
  fs.mkdirSync(outputDir, { recursive: true });
  for (const file of files) {
    const input = readNpy(path.join(inputDir, file));
    let outputs;
    try {
      outputs = await session.run({ [session.inputNames[0]]: input });
    } catch (error) {
      fail(`${path.join(inputDir, file)} (shape ${input.dims.join('x')}): ${error.message}`);
    }
    const stem = file.slice(0, -'.npy'.length);
    session.outputNames.forEach((name, index) => {
      const target = index === 0 ? `${stem}.npy` : `${stem}.${name}.npy`;
      writeNpy(path.join(outputDir, target), outputs[name]);
    });
  }
  console.log(`ort_run: ${files.length} inputs -> ${outputDir}`);
}

async function bench(model, options) {
  const session = await createSession(model, options);
  const { name, shape } = parseShape(session, options.shape);
  const feeds = { [name]: randomInput(shape) };
  const seconds = positiveNumber(options, 'time');
  const warmupRuns = Number(options.warmup);
  const minimumRuns = 10;

  for (let i = 0; i < warmupRuns; i++) await session.run(feeds);
  const latencies = [];
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds || latencies.length < minimumRuns) {
    const before = process.hrtime.bigint();
    await session.run(feeds);
    const after = process.hrtime.bigint();
    latencies.push(Number(after - before) / 1e6);
    elapsed = Number(after - start) / 1e9;
  }
  latencies.sort((a, b) => a - b);
  const result = {
    latency_ms: {
      median: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      min: latencies[0],
    },
    throughput_fps: (latencies.length * shape[0]) / elapsed,
    iterations: latencies.length,
    runtime: `onnxruntime-node ${ort.env.versions.node}`,
    model: path.basename(model),
    input: `${name}=${shape.join('x')}`,
    threads: positiveNumber(options, 'threads'),
  };
  const ms = (v) => v.toFixed(3);
  console.log(
    `ort_run bench ${result.model} ${result.input} threads=${result.threads}: median ${ms(result.latency_ms.median)} ms, ` +
      `p90 ${ms(result.latency_ms.p90)} ms, min ${ms(result.latency_ms.min)} ms, ` +
      `${result.throughput_fps.toFixed(1)} fps (${result.iterations} runs)`,
  );
  writeJson(options.json, result);
}

async function rss(model, options) {
  const baselineKb = process.resourceUsage().maxRSS; // node + onnxruntime library, no model yet
  const session = await createSession(model, options);
  const { name, shape } = parseShape(session, options.shape);
  await session.run({ [name]: randomInput(shape) });
  const peakKb = process.resourceUsage().maxRSS;
  const result = { peak_rss_mb: peakKb / 1024, baseline_rss_mb: baselineKb / 1024, model: path.basename(model) };
  console.log(
    `ort_run rss ${result.model} ${name}=${shape.join('x')}: peak ${result.peak_rss_mb.toFixed(1)} MB ` +
      `(node before loading the model: ${result.baseline_rss_mb.toFixed(1)} MB)`,
  );
  writeJson(options.json, result);
}

if (require.main === module) {
  const { command, model, options } = parseArguments(process.argv.slice(2));
  ({ run, bench, rss })[command](model, options).catch((error) => fail(error.message));
} else {
  module.exports = { readNpy, writeNpy };
}
