// End-to-end test of the octet workbench in a real browser (Debian's chromium, driven by npm
// playwright-core): what a user does, from an empty workspace to a downloaded INT8 model.
//
//   node tests/workbench/e2e.mjs [BUILD_DIR]            (default: build; uses BUILD_DIR/bin/octet)
//        [--screenshots DIR]   where the page screenshots go (default: out/workbench-screenshots)
//        [--keep]              keep the temporary workspace and downloads (printed at the end)
//        [--web-dir DIR]       the server serves the page from DIR (e.g. tools/workbench/web: page
//                              edits without a rebuild) instead of its built-in copy
//        [--mock]              run against tests/workbench/mock_server.mjs (page development only:
//                              fabricated numbers, so the CLI cross-checks are skipped)
//
// Steps: start `octet workbench --port 0 --workspace TMP` and read its URL; check a request without the
// token gets 401; create a project from the ppocr cls model (path) and generated cls PNGs + labels.tsv
// (uploaded through the page); inspect it (graph view, ignore toggle); benchmark it (batch x streams
// grid, profile; a second benchmark queued behind it is cancelled); measure its accuracy; run
// DefaultQuantization (subset 32); benchmark every version side by side and measure the INT8 accuracy
// from Compare; check the INT8 row shows a speedup > 1 and the charts are drawn; download the INT8
// model, its config and the report through the page; run `octet eval` on the downloaded model with the
// same data and metric and check it prints the accuracy the page showed; re-run the config with
// `octet quantize --config` and check it makes the same file; check that a failing job shows its error
// and leaves the server healthy; run AccuracyAware and check its iterations are plotted. Every page is
// screenshotted. The server is killed at the end, also on failure. Exit 0 on success, 1 on a failed
// check (with the reason).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = await import(path.join(repo, "node_modules/playwright-core/index.mjs"));

const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : fallback; };
const flag = (name) => { const i = args.indexOf(name); if (i >= 0) args.splice(i, 1); return i >= 0; };
const screenshotDir = path.resolve(repo, option("--screenshots", "out/workbench-screenshots"));
const keep = flag("--keep");
const mock = flag("--mock");
const webDir = option("--web-dir", null);
const buildDir = path.resolve(repo, args[0] || "build");
const octet = path.join(buildDir, "bin/octet");
const python = "/usr/bin/python3";
const chromiumPath = "/usr/bin/chromium";

const CLS_MODEL = path.join(repo, "models/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx");
// Generated here (seed 103: neither the calibration set's 101 nor the evaluation set's 102), labels partly flipped.
const DATA_DIR = path.join(repo, "data/workbench/cls_png_noisy");
const SAMPLES = 64;
const JOB_TIMEOUT_MS = 150_000;
const TOTAL_TIMEOUT_MS = 240_000;  // the suite's budget: 4 minutes

const started = Date.now();
const log = (message) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);
function check(condition, message) { if (!condition) throw new Error(`check failed: ${message}`); }

function makeData() {
  const count = fs.existsSync(DATA_DIR) ? fs.readdirSync(DATA_DIR).filter((f) => f.endsWith(".png")).length : 0;
  if (count === SAMPLES && fs.existsSync(path.join(DATA_DIR, "labels.tsv"))) return;
  fs.rmSync(DATA_DIR, { recursive: true, force: true });
  const run = spawnSync(python, [path.join(repo, "scripts/gen_ocr_data.py"), "--kind", "cls", "--count", String(SAMPLES), "--seed", "103", "--out", DATA_DIR, "--format", "png"], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`gen_ocr_data.py failed: ${run.stderr}`);
  // Every 8th label flipped (0 <-> 180): the cls model is right on all of these clean lines, and an
  // accuracy of exactly 1 would match whatever model or data a bug made the page measure.
  const labels = path.join(DATA_DIR, "labels.tsv");
  const lines = fs.readFileSync(labels, "utf8").trim().split("\n").map((line, index) => {
    const [name, label] = line.split("\t");
    return index % 8 === 7 ? `${name}\t${label === "0" ? "180" : "0"}` : line;
  });
  fs.writeFileSync(labels, lines.join("\n") + "\n");
}

// Starts the server; resolves with {process, url} once it printed its URL.
function startServer(workspace) {
  const command = mock ? process.execPath : octet;
  const commandArgs = mock ? [path.join(repo, "tests/workbench/mock_server.mjs"), "--port", "0"] : ["workbench", "--port", "0", "--workspace", workspace].concat(webDir ? ["--web-dir", path.resolve(webDir)] : []);
  if (!mock && !fs.existsSync(octet)) throw new Error(`${octet} is missing: build octet first (scripts/build.sh)`);
  const child = spawn(command, commandArgs, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server printed no URL within 30 s; output:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(output);
      if (match) { clearTimeout(timer); resolve({ process: child, url: match[1], output: () => output }); }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (chunk) => { output += chunk.toString(); });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}) before printing its URL:\n${output}`)); });
  });
}

async function stopServer(server) {
  if (!server || server.process.exitCode !== null) return;
  server.process.kill("SIGTERM");
  const exited = await Promise.race([
    new Promise((resolve) => server.process.once("exit", () => resolve(true))),
    new Promise((resolve) => setTimeout(() => resolve(false), 5000))]);
  if (!exited) {
    log("warning: the server did not stop within 5 s of SIGTERM; killed");
    server.process.kill("SIGKILL");
  }
}

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  const file = path.join(screenshotDir, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${path.relative(repo, file)}`);
}

async function openTab(page, tab) {
  await page.click(`#tabs a[data-tab="${tab}"]`);
  await page.waitForURL(new RegExp(`#/project/\\d+/${tab}`));
  await page.waitForSelector("#tab > *");
}

// Waits until job `id` left queued/running in a job list of the page; throws with its error unless done.
async function waitJob(page, id) {
  await page.waitForFunction((jobId) => {
    const row = document.querySelector(`tr.job[data-job-id="${jobId}"]`);
    return row && !["queued", "running"].includes(row.dataset.status);
  }, String(id), { timeout: JOB_TIMEOUT_MS, polling: 250 });
  const status = await page.getAttribute(`tr.job[data-job-id="${id}"]`, "data-status");
  if (status !== "done") {
    const error = await page.locator(`tr.job-error-row[data-job-id="${id}"]`).textContent().catch(() => "(no error shown)");
    throw new Error(`job #${id} ended ${status}: ${error}`);
  }
}

async function jobIdFrom(page, selector, attribute) {
  await page.waitForFunction(([sel, attr]) => { const e = document.querySelector(sel); return e && e.getAttribute(attr); }, [selector, attribute]);
  return (await page.getAttribute(selector, attribute)).split(",").map(Number);
}

// Counts the non-transparent pixels of a canvas (a drawn chart has thousands).
async function paintedPixels(page, selector) {
  return page.$eval(selector, (canvas) => {
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
    return painted;
  });
}

async function compareRow(page, precision) {
  return page.$eval(`#compare-table tr[data-precision="${precision}"]`, (row) => {
    const value = (col) => { const v = row.querySelector(`td[data-col="${col}"]`).dataset.value; return v === "" ? null : Number(v); };
    return { modelId: Number(row.dataset.modelId), accuracy: value("accuracy"), latency: value("latency"), speedup: value("speedup"), size: value("size") };
  });
}

async function main() {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "octet-workbench-e2e-"));
  const downloads = path.join(workspace, "downloads");
  fs.mkdirSync(downloads);
  fs.rmSync(screenshotDir, { recursive: true, force: true });
  fs.mkdirSync(screenshotDir, { recursive: true });
  let server = null;
  let context = null;
  const pageErrors = [];
  const watchdog = setTimeout(() => { console.error(`e2e: over ${TOTAL_TIMEOUT_MS / 1000} s, giving up`); stopServer(server).finally(() => process.exit(1)); }, TOTAL_TIMEOUT_MS);
  try {
    makeData();
    log(`data: ${path.relative(repo, DATA_DIR)} (${SAMPLES} cls PNGs + labels.tsv)`);
    server = await startServer(path.join(workspace, "workspace"));
    log(`server: ${server.url.replace(/token=.*/, "token=…")}`);

    context = await chromium.launchPersistentContext(path.join(workspace, "chromium-profile"), {
      executablePath: chromiumPath,
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1400, height: 900 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => { if (message.type() === "error") log(`page console: ${message.text()}`); });

    // Without the token: 401 for the page and the API.
    const denied = await page.request.get(server.url.replace(/\?token=.*/, "api/projects"), { failOnStatusCode: false });
    check(denied.status() === 401, `GET /api/projects without the token answered ${denied.status()}, expected 401`);

    // 1. Projects: create one from the cls model (path) and uploaded PNGs + labels.tsv.
    await page.goto(server.url);
    await page.waitForSelector("#new-project");
    await screenshot(page, "projects-empty");
    await page.fill("#project-name", "ppocr cls");
    await page.fill("#model-path", CLS_MODEL);
    const files = fs.readdirSync(DATA_DIR).filter((f) => f.endsWith(".png") || f === "labels.tsv").sort().map((f) => path.join(DATA_DIR, f));
    await page.setInputFiles("#dataset-files", files);
    await page.selectOption("#preprocess", "ppocr-cls");
    await screenshot(page, "new-project-form");
    await page.click("#create-project");
    await page.waitForURL(/#\/project\/\d+\/inspect/, { timeout: 60_000 }).catch(async (error) => {
      throw new Error(`project not created: ${await page.textContent("#create-error")} (${error.message})`);
    });
    log("project created");

    // 2. Inspect: cards, histogram, graph; select a node and toggle "ignore" both ways.
    await page.waitForSelector("#inspect-result .cards");
    await page.waitForSelector("#graph-view g.gnode");
    const graphNodes = await page.locator("#graph-view g.gnode").count();
    check(graphNodes > 50, `the graph view draws ${graphNodes} nodes, expected the cls model's > 50`);
    check(await paintedPixels(page, "#op-histogram") > 1000, "the op histogram chart is not drawn");
    const conv = page.locator('#node-table tbody tr:has(td:text-is("Conv"))').first();
    const convName = await conv.getAttribute("data-node");
    await conv.click();
    await page.waitForSelector("#toggle-ignore");
    await page.click("#toggle-ignore");
    check(await page.isChecked(`#node-table input.ignore-node[data-node="${convName}"]`), `ignoring ${convName} in the graph did not tick it in the node table`);
    check(await page.locator("#graph-view g.gnode.ignored").count() === 1, "the ignored node is not outlined in the graph");
    await screenshot(page, "inspect");
    await page.click("#toggle-ignore");
    check(!(await page.isChecked(`#node-table input.ignore-node[data-node="${convName}"]`)), `un-ignoring ${convName} left it ticked`);
    const shape = await page.inputValue("#inspect-shape");
    check(/=1x3x48x192$/.test(shape), `the shape field holds "${shape}", expected NAME=1x3x48x192 from the ppocr-cls preset`);

    // 3. Benchmark: a 2x2 batch x streams grid with a per-layer profile.
    await openTab(page, "benchmark");
    await page.fill("#bench-time", "1");
    await page.check("#bench-grid");
    await page.fill("#bench-grid-batches", "1,2");
    await page.fill("#bench-grid-streams", "1,2");
    await page.click("#bench-run");
    const [benchJob] = await jobIdFrom(page, "#bench-status", "data-job-id");
    // A second one queues behind it, and is cancelled while it waits.
    await page.click("#bench-run");
    await page.waitForFunction((first) => Number(document.querySelector("#bench-status").dataset.jobId) > first, benchJob);
    const [queuedJob] = await jobIdFrom(page, "#bench-status", "data-job-id");
    await page.click(`tr.job[data-job-id="${queuedJob}"] button[data-action="cancel"]`);
    await page.waitForSelector(`tr.job[data-job-id="${queuedJob}"][data-status="cancelled"]`, { timeout: JOB_TIMEOUT_MS });
    log(`benchmark #${queuedJob} queued behind #${benchJob} and cancelled`);
    await waitJob(page, benchJob);
    await page.click(`tr.job[data-job-id="${benchJob}"] button[data-action="view"]`);
    await page.waitForSelector(`#bench-result-panel[data-job-id="${benchJob}"] #profile-table`);
    check(await page.locator("#grid-table tbody tr").count() === 4, "the grid table does not have 4 points");
    check(await paintedPixels(page, "#grid-chart") > 1000, "the grid chart is not drawn");
    check(await page.locator("#profile-table tbody tr").count() > 10, "the per-layer profile has 10 rows or fewer");
    await screenshot(page, "benchmark");
    log(`benchmark #${benchJob} done`);

    // 4. Accuracy of the FP32 model (from Compare: top1 with classes 0,180, prefilled by the preset).
    await openTab(page, "compare");
    check(await page.inputValue("#cmp-metric") === "top1" && await page.inputValue("#cmp-classes") === "0,180", "Compare's metric is not prefilled with top1 / 0,180");
    await page.click("#cmp-accuracy-all");
    const [fp32Accuracy] = await jobIdFrom(page, "#cmp-status", "data-job-ids");
    await waitJob(page, fp32Accuracy);
    log(`accuracy #${fp32Accuracy} done`);

    // 5. Optimize: DefaultQuantization, subset 32.
    await openTab(page, "optimize");
    await page.fill("#opt-subset", "32");
    await page.fill("#opt-ignored", "");
    await page.click("#opt-run");
    const [quantizeJob] = await jobIdFrom(page, "#opt-status", "data-job-id");
    await waitJob(page, quantizeJob);
    await page.waitForSelector("#quantize-summary");
    await screenshot(page, "optimize");
    log(`quantize #${quantizeJob} done`);

    // The INT8 version in Inspect: its graph coloured by precision.
    await openTab(page, "inspect");
    const int8Option = await page.$eval("#inspect-model", (select) => Array.from(select.options).find((option) => /INT8/.test(option.textContent)).value);
    await page.selectOption("#inspect-model", int8Option);
    await page.waitForSelector("#graph-view g.gnode.int8");
    const int8Nodes = await page.locator("#graph-view g.gnode.int8").count();
    check(int8Nodes > 20, `the INT8 version's graph shows ${int8Nodes} int8 nodes, expected the cls model's convolutions (> 20)`);
    await screenshot(page, "inspect-int8");

    // 6. Compare: both versions benchmarked side by side, INT8 accuracy, table and charts.
    await openTab(page, "compare");
    await page.waitForSelector('#compare-table tr[data-precision="int8"]');
    await page.click("#cmp-bench-all");
    const benchAll = await jobIdFrom(page, "#cmp-status", "data-job-ids");
    check(benchAll.length === 2, `"Benchmark every version" queued ${benchAll.length} jobs, expected 2`);
    await page.click('#compare-table tr[data-precision="int8"] button[data-action="accuracy"]');
    await page.waitForFunction((ids) => document.querySelector("#cmp-status").dataset.jobIds !== ids, benchAll.join(","));
    const [int8Accuracy] = await jobIdFrom(page, "#cmp-status", "data-job-ids");
    for (const id of [...benchAll, int8Accuracy]) await waitJob(page, id);
    await page.waitForFunction(() => {
      const cell = document.querySelector('#compare-table tr[data-precision="int8"] td[data-col="accuracy"]');
      const speed = document.querySelector('#compare-table tr[data-precision="int8"] td[data-col="speedup"]');
      return cell && cell.dataset.value !== "" && speed && speed.dataset.value !== "";
    });
    const fp32Row = await compareRow(page, "fp32");
    const int8Row = await compareRow(page, "int8");
    log(`compare: FP32 ${fp32Row.latency} ms, accuracy ${fp32Row.accuracy}; INT8 ${int8Row.latency} ms, accuracy ${int8Row.accuracy}, speedup ${int8Row.speedup}`);
    check(int8Row.speedup > 1, `the INT8 row shows a speedup of ${int8Row.speedup}, expected > 1`);
    check(int8Row.size < fp32Row.size, `the INT8 model (${int8Row.size} bytes) is not smaller than the FP32 one (${fp32Row.size})`);
    for (const key of ["size", "latency", "throughput", "accuracy"]) {
      check(await paintedPixels(page, `#compare-chart-${key}`) > 1000, `the ${key} comparison chart is not drawn`);
    }
    await screenshot(page, "compare");

    // 7. Export: the INT8 model, its config and the report, downloaded through the page.
    await openTab(page, "export");
    await page.waitForSelector(`#download-model-${int8Row.modelId}`);
    const download = async (selector, name) => {
      const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
      const target = path.join(downloads, name);
      await file.saveAs(target);
      return target;
    };
    const int8File = await download(`#download-model-${int8Row.modelId}`, "int8.onnx");
    const configFile = await download(`#download-config-${int8Row.modelId}`, "int8.config.json");
    const reportFile = await download("#download-report", "report.html");
    check(mock || fs.statSync(int8File).size === int8Row.size, `the downloaded model has ${fs.statSync(int8File).size} bytes, the page said ${int8Row.size}`);
    const config = JSON.parse(fs.readFileSync(configFile, "utf8"));
    check(config && typeof config === "object" && Object.keys(config).length > 0, "the downloaded config is empty");
    check(/<html/i.test(fs.readFileSync(reportFile, "utf8")), "the downloaded report is not HTML");
    await page.waitForFunction(() => !Array.from(document.querySelectorAll("#configs pre")).some((pre) => pre.textContent === "loading…"));
    await screenshot(page, "export");
    log("downloads: model, config, report");

    // 8. The downloaded model on the command line: same data, same metric, same accuracy.
    if (!mock) {
      const evalJson = path.join(workspace, "eval.json");
      const run = spawnSync(octet, ["eval", int8File, "--dataset", DATA_DIR, "--metric", "top1", "--classes", "0,180", "--preprocess", "ppocr-cls", "--json", evalJson], { encoding: "utf8" });
      check(run.status === 0, `octet eval on the downloaded model failed: ${run.stderr}`);
      const cli = JSON.parse(fs.readFileSync(evalJson, "utf8"));
      log(`octet eval on the downloaded INT8 model: top1 ${cli.value} (${cli.samples} samples); the page showed ${int8Row.accuracy}`);
      check(cli.samples === SAMPLES, `octet eval read ${cli.samples} samples, expected ${SAMPLES}`);
      check(Math.abs(cli.value - int8Row.accuracy) < 1e-9, `octet eval gives ${cli.value}, the page showed ${int8Row.accuracy}`);
      // The config re-run on the command line (same model, same data) gives the same file, byte for byte.
      const fromConfig = path.join(workspace, "from_config.onnx");
      const configRun = spawnSync(octet, ["quantize", CLS_MODEL, "-o", fromConfig, "--data", DATA_DIR, "--preprocess", "ppocr-cls", "--config", configFile], { encoding: "utf8" });
      check(configRun.status === 0, `octet quantize --config with the downloaded config failed: ${configRun.stderr}`);
      check(fs.readFileSync(fromConfig).equals(fs.readFileSync(int8File)), "octet quantize --config with the downloaded config made a different model than the page's");
      log("octet quantize --config with the downloaded config makes the same INT8 model, byte for byte");
    }

    // 9. A failing job (an ignored node that does not exist) shows its error; the server stays healthy.
    await openTab(page, "optimize");
    await page.fill("#opt-subset", "8");
    await page.fill("#opt-ignored", "no_such_node_e2e");
    await page.click("#opt-run");
    await page.waitForFunction((previous) => Number(document.querySelector("#opt-status").dataset.jobId) > previous, quantizeJob);
    const [failingJob] = await jobIdFrom(page, "#opt-status", "data-job-id");
    let failed = false;
    try { await waitJob(page, failingJob); } catch (error) { failed = true; }
    check(failed, `quantize job #${failingJob} with an unknown ignored node did not fail`);
    const message = await page.textContent(`tr.job-error-row[data-job-id="${failingJob}"]`);
    check(/no_such_node_e2e/.test(message), `the failed job's error does not name the culprit: ${message}`);
    await screenshot(page, "optimize-failed-job");
    const health = await page.request.get(server.url.replace(/\?token=/, "api/health?token="));
    check(health.ok() && (await health.json()).status === "ok", "the server is not healthy after a failed job");
    await page.fill("#opt-ignored", "");

    // 10. AccuracyAware (top1, at most 1 point of drop): its iterations are plotted in Compare.
    await page.check('input[name="algorithm"][value="accuracy-aware"]');
    await page.fill("#opt-subset", "32");
    await page.selectOption("#opt-metric", "top1");
    await page.fill("#opt-classes", "0,180");
    await page.fill("#opt-max-drop", "0.01");
    await page.fill("#opt-ranking-subset", "16");
    await page.click("#opt-run");
    await page.waitForFunction((previous) => Number(document.querySelector("#opt-status").dataset.jobId) > previous, failingJob);
    const [accuracyAwareJob] = await jobIdFrom(page, "#opt-status", "data-job-id");
    await waitJob(page, accuracyAwareJob);
    await openTab(page, "compare");
    await page.waitForSelector(`#aa-chart-${accuracyAwareJob}`);
    check(await page.locator("#aa-panel table.aa-iterations tbody tr").count() >= 1, "the AccuracyAware iterations table is empty");
    check(await paintedPixels(page, `#aa-chart-${accuracyAwareJob}`) > 1000, "the AccuracyAware iterations chart is not drawn");
    check(await page.locator('#compare-table tr[data-precision="int8"]').count() === 2, "Compare does not list the AccuracyAware version");
    await screenshot(page, "compare-accuracy-aware");
    log(`accuracy-aware #${accuracyAwareJob} done`);

    await page.click(".brand");
    await page.waitForSelector("#project-table");
    await screenshot(page, "projects");
    check(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join("; ")}`);
    log(`ok: screenshots in ${screenshotDir}`);
    return 0;
  } catch (error) {
    console.error(`e2e: FAILED: ${error.message}`);
    if (pageErrors.length) console.error(`uncaught errors in the page: ${pageErrors.join("; ")}`);
    if (context && context.pages()[0]) await screenshot(context.pages()[0], "failure").catch(() => {});
    if (server) console.error(`server output:\n${server.output().slice(-4000)}`);
    return 1;
  } finally {
    clearTimeout(watchdog);
    if (context) await context.close().catch(() => {});
    await stopServer(server);
    if (keep) console.log(`kept: ${workspace}`);
    else fs.rmSync(workspace, { recursive: true, force: true });
    console.log(`screenshots: ${screenshotDir}`);
  }
}

process.exitCode = await main();
