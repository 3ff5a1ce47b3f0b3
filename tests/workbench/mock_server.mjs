// A stand-in for `octet workbench` while developing the page (tools/workbench/web): the JSON API of
// tools/workbench/API.md with fabricated results, state in memory. Not used by the tests.
//
//   node tests/workbench/mock_server.mjs [--port 8099]
//
// Models given by path are read with /usr/bin/python3 + onnx (node list, I/O); quantize jobs make
// "INT8" versions whose file is the FP32 one. A quantize job that ignores an unknown node fails.
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const webDir = path.join(repo, "tools/workbench/web");
const portIndex = process.argv.indexOf("--port");
const port = portIndex > 0 ? Number(process.argv[portIndex + 1]) : 8099;
const token = crypto.randomBytes(16).toString("hex");
const uploadDir = fs.mkdtempSync(path.join(os.tmpdir(), "octet-mock-"));

const db = { models: [], datasets: [], projects: [], jobs: [] };
const now = () => new Date().toISOString();
const graphs = new Map();

function readGraph(file) {
  if (graphs.has(file)) return graphs.get(file);
  const script = `
import json, sys, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
g = m.graph
inits = {i.name for i in g.initializer}
count = sum(int(__import__('numpy').prod(i.dims)) for i in g.initializer)
print(json.dumps({
  "inputs": [{"name": i.name, "dtype": "float", "shape": [d.dim_value if d.HasField("dim_value") else d.dim_param for d in i.type.tensor_type.shape.dim]} for i in g.input if i.name not in inits],
  "outputs": [{"name": o.name, "dtype": "float", "shape": [d.dim_value if d.HasField("dim_value") else d.dim_param for d in o.type.tensor_type.shape.dim]} for o in g.output],
  "nodes": [{"name": n.name or f"{n.op_type}_{k}", "op_type": n.op_type, "inputs": list(n.input), "outputs": list(n.output)} for k, n in enumerate(g.node)],
  "parameters": count}))
`;
  const graph = JSON.parse(execFileSync("/usr/bin/python3", ["-c", script, file], { maxBuffer: 1 << 28 }).toString());
  graphs.set(file, graph);
  return graph;
}

function send(res, status, body, headers) {
  res.writeHead(status, Object.assign({ "Content-Type": "application/json" }, headers || {}));
  res.end(typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body));
}
const fail = (res, status, message) => send(res, status, { error: message });

function authorized(req, url) {
  const cookie = (req.headers.cookie || "").split(/;\s*/).find((c) => c.startsWith("octet_token="));
  return url.searchParams.get("token") === token || req.headers.authorization === `Bearer ${token}` || (cookie && cookie.slice(12) === token);
}

function readBody(req) {
  return new Promise((resolve) => { const chunks = []; req.on("data", (c) => chunks.push(c)); req.on("end", () => resolve(Buffer.concat(chunks))); });
}

// Minimal multipart/form-data parser: [{name, filename, data}].
function parseMultipart(body, contentType) {
  const boundary = "--" + /boundary=(.+)$/.exec(contentType)[1];
  const parts = [];
  let start = body.indexOf(boundary);
  while (start >= 0) {
    const next = body.indexOf(boundary, start + boundary.length);
    if (next < 0) break;
    const part = body.subarray(start + boundary.length + 2, next - 2);
    const headerEnd = part.indexOf("\r\n\r\n");
    const header = part.subarray(0, headerEnd).toString();
    const name = /name="([^"]*)"/.exec(header)[1];
    const filename = /filename="([^"]*)"/.exec(header);
    parts.push({ name, filename: filename ? filename[1] : null, data: part.subarray(headerEnd + 4) });
    start = next;
  }
  return parts;
}

function projectView(project) {
  return Object.assign({}, project, {
    models: db.models.filter((m) => m.project_id === project.id),
    jobs: db.jobs.filter((j) => j.project_id === project.id),
  });
}

function precisionOf(model, node) {
  if (model.precision !== "int8") return ["fp32", "", "no int8 version yet"];
  if (["Conv", "MatMul", "Gemm"].includes(node.op_type)) return ["int8", "dnnl int8 conv", ""];
  if (["Relu", "HardSigmoid", "Clip", "BatchNormalization"].includes(node.op_type)) return ["fused", "", "fused into QFusedConv"];
  return ["fp32", "reference", node.op_type === "Softmax" ? "output layer kept in FP32" : "no int8 kernel"];
}

function inspect(model) {
  const graph = readGraph(model.file);
  const histogram = {};
  for (const node of graph.nodes) histogram[node.op_type] = (histogram[node.op_type] || 0) + 1;
  const nodes = graph.nodes.map((node) => {
    const [precision, kernel, note] = precisionOf(model, node);
    return Object.assign({}, node, { precision, kernel, note });
  });
  return {
    inputs: graph.inputs, outputs: graph.outputs, op_histogram: histogram,
    parameters: graph.parameters, parameter_bytes: graph.parameters * (model.precision === "int8" ? 1 : 4),
    macs: 16315376, size_bytes: model.size_bytes, nodes,
    unsupported: [],
    fp32_nodes: nodes.filter((n) => n.precision === "fp32" && n.op_type !== "Constant").slice(0, 12).map((n) => ({ node: n.name, op_type: n.op_type, reason: n.note })),
  };
}

function addModel(fields) {
  const model = Object.assign({ id: db.models.length + 1, parent_id: null, project_id: null, job_id: null, precision: "fp32", created_at: now() }, fields);
  db.models.push(model);
  return model;
}

// The job worker: one job at a time, 12 progress steps of 250 ms.
function tick() {
  const job = db.jobs.find((j) => j.status === "running") || db.jobs.find((j) => j.status === "queued");
  if (!job) return;
  if (job.status === "queued") { job.status = "running"; job.started_at = now(); job.progress = { stage: job.type === "quantize" ? "calibration" : "running", done: 0, total: 12 }; return; }
  job.progress.done += 1;
  if (job.progress.done < job.progress.total) return;
  const model = db.models.find((m) => m.id === job.model_id);
  const int8 = model.precision === "int8";
  try {
    if (job.type === "quantize") {
      const known = new Set(readGraph(model.file).nodes.flatMap((node) => [node.name, node.op_type]));
      const unknown = (job.params.ignored || []).find((entry) => !known.has(entry));
      if (unknown) throw new Error(`ignored entry "${unknown}" is neither a node nor an op type of ${model.name}`);
    }
    if (job.type === "benchmark") {
      const base = int8 ? 0.62 : 1.31;
      const grid = job.params.grid ? job.params.grid.batches.flatMap((batch) => job.params.grid.streams.map((streams) => ({ batch, streams, latency_ms: base * batch * (1 + 0.3 * (streams - 1)), throughput_fps: (1000 * batch * streams) / (base * batch * (1 + 0.3 * (streams - 1))) / (1 + 0.05 * batch) }))) : [];
      const best = grid.length ? grid.reduce((a, b) => (b.throughput_fps > a.throughput_fps ? b : a)) : null;
      const nodes = inspect(model).nodes.filter((n) => n.op_type !== "Constant" && n.precision !== "fused");
      const weights = nodes.map((n, i) => (n.op_type === "Conv" ? 3 + (i % 5) : 0.3));
      const sum = weights.reduce((a, b) => a + b, 0);
      job.result = {
        latency_ms: { median: base, p90: base * 1.1, min: base * 0.93 }, throughput_fps: 1000 / base, grid,
        best: best && { batch: best.batch, streams: best.streams, throughput_fps: best.throughput_fps },
        profile: job.params.profile ? nodes.map((n, i) => ({ node: n.name, op_type: n.op_type, kernel: n.kernel || "dnnl brgconv:avx512_core", precision: n.precision, time_ms: (base * weights[i]) / sum, share: weights[i] / sum })) : [],
      };
    } else if (job.type === "accuracy") {
      job.result = { metric: job.params.metric, value: int8 ? 0.9453125 : 0.953125, samples: 64 };
    } else if (job.type === "quantize") {
      const created = addModel({ name: model.name.replace(/\.onnx$/, "") + "-int8.onnx", project_id: job.project_id, parent_id: model.id, precision: "int8", size_bytes: Math.round(model.size_bytes / 3.7), job_id: job.id, file: model.file });
      const aa = job.params.algorithm === "accuracy-aware";
      job.result = {
        model_id: created.id,
        summary: { quantized: ["p2o.Conv.0", "p2o.Conv.1"], fp32: [{ node: "p2o.Softmax.0", reason: "no int8 kernel" }], size_before: model.size_bytes, size_after: created.size_bytes, seconds: 3.1 },
        config: { model: { model_name: "cls", model: model.file }, compression: [{ algorithm: "DefaultQuantization", params: { preset: job.params.preset, stat_subset_size: job.params.subset } }] },
        report: aa ? {
          fp32_groups: ["p2o.Conv.51", "p2o.Conv.3"], group_count: 54, metric: 0.9453, drop: 0.0078, budget: job.params.max_drop, budget_met: true,
          message: "budget met: drop 0.0078 with 2 groups in FP32", iterations: [
            { kind: "default", group: "", metric: 0.9219, drop: 0.0312, kept: true },
            { kind: "revert", group: "p2o.Conv.52", metric: 0.9375, drop: 0.0156, kept: true },
            { kind: "revert", group: "p2o.Conv.7", metric: 0.9219, drop: 0.0312, kept: false },
            { kind: "revert", group: "p2o.Conv.51", metric: 0.9453, drop: 0.0078, kept: true },
            { kind: "revert", group: "p2o.Conv.3", metric: 0.9531, drop: 0.0, kept: true },
            { kind: "requantize", group: "p2o.Conv.52", metric: 0.9453, drop: 0.0078, kept: true }] } : undefined,
      };
    }
    job.status = "done";
  } catch (error) {
    job.status = "failed";
    job.error = error.message;
  }
  job.finished_at = now();
}
setInterval(tick, 250);

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  if (!authorized(req, url)) return fail(res, 401, "missing or wrong access token");
  const cookie = url.searchParams.get("token") ? { "Set-Cookie": `octet_token=${token}; HttpOnly; SameSite=Strict; Path=/` } : {};
  const p = url.pathname;
  try {
    if (!p.startsWith("/api/")) {
      const file = p === "/" ? path.join(webDir, "index.html") : p === "/vendor/chart.umd.js" ? path.join(repo, "node_modules/chart.js/dist/chart.umd.js") : path.join(webDir, path.normalize(p).replace(/^(\.\.[/\\])+/, ""));
      if (!file.startsWith(webDir) && !file.includes("chart.js")) return fail(res, 404, "not found");
      if (!fs.existsSync(file)) return fail(res, 404, `${p}: not found`);
      const type = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" }[path.extname(file)] || "application/octet-stream";
      return send(res, 200, fs.readFileSync(file), Object.assign({ "Content-Type": type }, cookie));
    }
    const body = req.method === "POST" ? await readBody(req) : null;
    const json = () => (body && body.length ? JSON.parse(body.toString()) : {});
    let m;
    if (p === "/api/health") return send(res, 200, { status: "ok", version: "mock", jobs_queued: db.jobs.filter((j) => j.status === "queued").length, jobs_running: db.jobs.filter((j) => j.status === "running").length });
    if (p === "/api/models" && req.method === "POST") {
      if ((req.headers["content-type"] || "").startsWith("multipart/")) {
        const parts = parseMultipart(body, req.headers["content-type"]);
        const file = parts.find((x) => x.name === "file");
        if (!file) return fail(res, 400, "field 'file' missing");
        const saved = path.join(uploadDir, `model-${db.models.length + 1}.onnx`);
        fs.writeFileSync(saved, file.data);
        return send(res, 201, addModel({ name: file.filename, size_bytes: file.data.length, file: saved }));
      }
      const { path: file, name } = json();
      if (!file || !fs.existsSync(file)) return fail(res, 400, `path ${file}: no such file`);
      try { readGraph(file); } catch (error) { return fail(res, 400, `${file}: not an ONNX model`); }
      return send(res, 201, addModel({ name: name || path.basename(file), size_bytes: fs.statSync(file).size, file }));
    }
    if (p === "/api/models") return send(res, 200, db.models);
    if ((m = /^\/api\/models\/(\d+)(\/(inspect|download|config))?$/.exec(p))) {
      const model = db.models.find((x) => x.id === Number(m[1]));
      if (!model) return fail(res, 404, `model ${m[1]}: not found`);
      if (!m[3]) return send(res, 200, model);
      if (m[3] === "inspect") return send(res, 200, inspect(model));
      if (m[3] === "download") return send(res, 200, fs.readFileSync(model.file), { "Content-Type": "application/octet-stream", "Content-Disposition": `attachment; filename="${model.name}"` });
      const job = db.jobs.find((j) => j.id === model.job_id);
      return job ? send(res, 200, job.result.config) : fail(res, 404, `model ${model.id} is FP32: no config`);
    }
    if (p === "/api/datasets" && req.method === "POST") {
      let dir, name;
      if ((req.headers["content-type"] || "").startsWith("multipart/")) {
        const parts = parseMultipart(body, req.headers["content-type"]);
        name = (parts.find((x) => x.name === "name") || { data: "dataset" }).data.toString();
        dir = fs.mkdtempSync(path.join(uploadDir, "dataset-"));
        for (const part of parts.filter((x) => x.filename)) fs.writeFileSync(path.join(dir, path.basename(part.filename)), part.data);
      } else {
        ({ path: dir, name } = json());
        if (!dir || !fs.existsSync(dir)) return fail(res, 400, `path ${dir}: no such folder`);
      }
      const files = fs.readdirSync(dir);
      const samples = files.filter((f) => /\.(png|jpe?g|npy)$/i.test(f));
      if (!samples.length) return fail(res, 400, `dataset ${name}: no .png/.jpg/.npy sample`);
      const dataset = { id: db.datasets.length + 1, name: name || path.basename(dir), path: dir, kind: samples[0].endsWith(".npy") ? "npy" : "images", sample_count: samples.length, has_labels: files.includes("labels.tsv"), created_at: now() };
      db.datasets.push(dataset);
      return send(res, 201, dataset);
    }
    if (p === "/api/datasets") return send(res, 200, db.datasets);
    if (p === "/api/projects" && req.method === "POST") {
      const fields = json();
      const model = db.models.find((x) => x.id === fields.model_id);
      if (!model) return fail(res, 400, `model_id ${fields.model_id}: no such model`);
      const project = { id: db.projects.length + 1, name: fields.name, model_id: fields.model_id, dataset_id: fields.dataset_id, preprocess: fields.preprocess, created_at: now() };
      model.project_id = project.id;
      db.projects.push(project);
      return send(res, 201, projectView(project));
    }
    if (p === "/api/projects") return send(res, 200, db.projects.map(projectView));
    if ((m = /^\/api\/projects\/(\d+)(\/(compare|report))?$/.exec(p))) {
      const project = db.projects.find((x) => x.id === Number(m[1]));
      if (!project) return fail(res, 404, `project ${m[1]}: not found`);
      if (!m[3]) return send(res, 200, projectView(project));
      const latest = (model, type) => db.jobs.filter((j) => j.model_id === model.id && j.type === type && j.status === "done").pop();
      const base = db.models.find((x) => x.id === project.model_id);
      const baseBench = latest(base, "benchmark"), baseAcc = latest(base, "accuracy");
      const rows = db.models.filter((x) => x.project_id === project.id).map((model) => {
        const bench = latest(model, "benchmark"), acc = latest(model, "accuracy");
        return {
          model_id: model.id, name: model.name, precision: model.precision, size_bytes: model.size_bytes,
          latency_ms: bench ? bench.result.latency_ms.median : null, throughput_fps: bench ? bench.result.throughput_fps : null,
          accuracy: acc ? acc.result.value : null, drop: acc && baseAcc ? baseAcc.result.value - acc.result.value : null,
          speedup: bench && baseBench ? baseBench.result.latency_ms.median / bench.result.latency_ms.median : null,
        };
      });
      if (m[3] === "compare") return send(res, 200, { metric: baseAcc ? baseAcc.result.metric : null, rows });
      return send(res, 200, `<html><body><h1>${project.name}</h1><pre>${JSON.stringify(rows, null, 2)}</pre></body></html>`, { "Content-Type": "text/html", "Content-Disposition": `attachment; filename="report.html"` });
    }
    if (p === "/api/jobs" && req.method === "POST") {
      const fields = json();
      if (!["benchmark", "accuracy", "quantize"].includes(fields.type)) return fail(res, 400, `type ${fields.type}: not a job type`);
      const job = { id: db.jobs.length + 1, type: fields.type, project_id: fields.project_id, model_id: fields.model_id, params: fields.params || {}, status: "queued", progress: { stage: "queued", done: 0, total: 0 }, error: null, result: null, created_at: now(), started_at: null, finished_at: null };
      db.jobs.push(job);
      return send(res, 201, job);
    }
    if (p === "/api/jobs") return send(res, 200, db.jobs.filter((j) => !url.searchParams.get("project_id") || j.project_id === Number(url.searchParams.get("project_id"))));
    if ((m = /^\/api\/jobs\/(\d+)(\/cancel)?$/.exec(p))) {
      const job = db.jobs.find((x) => x.id === Number(m[1]));
      if (!job) return fail(res, 404, `job ${m[1]}: not found`);
      if (m[2] && ["queued", "running"].includes(job.status)) { job.status = "cancelled"; job.finished_at = now(); }
      return send(res, 200, job);
    }
    return fail(res, 404, `${req.method} ${p}: no such route`);
  } catch (error) {
    return fail(res, 500, error.message);
  }
});
server.listen(port, "127.0.0.1", () => console.log(`octet workbench (mock): http://127.0.0.1:${server.address().port}/?token=${token}`));
