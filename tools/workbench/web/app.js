// octet workbench: the page. A single-page app over the JSON API of `octet workbench`
// (tools/workbench/API.md); plain JavaScript, no framework, no build step.
//
// Routes (location.hash):
//   #/projects                       the project list and the "new project" form
//   #/project/ID/TAB[/MODEL_ID]      a project; TAB is inspect | benchmark | optimize | compare | export
//
// The access token comes from the page URL (?token=..., printed by the server); every API request sends
// it as a Bearer header (the server also sets a cookie, which covers assets and download links).
// Jobs run on the server; the page polls GET /api/jobs?project_id=N every second while one is queued or
// running and re-renders the job lists in place (forms keep what the user typed).
(function () {
  "use strict";

  const TOKEN = new URLSearchParams(location.search).get("token") || sessionStorage.getItem("octet_token") || "";
  if (TOKEN) sessionStorage.setItem("octet_token", TOKEN);

  const TABS = [
    ["inspect", "Inspect"],
    ["benchmark", "Benchmark"],
    ["optimize", "Optimize"],
    ["compare", "Compare"],
    ["export", "Export"],
  ];
  const PRESETS = [
    ["ppocr-cls", "ppocr-cls — 48x192 text line, (x/255-0.5)/0.5, BGR"],
    ["ppocr-rec", "ppocr-rec — 48x320 text line, (x/255-0.5)/0.5, BGR"],
    ["ppocr-det", "ppocr-det — longest side ≤ 960, sides multiples of 32, ImageNet mean/std, BGR"],
    ["imagenet", "imagenet — shorter side 256, center crop 224x224, ImageNet mean/std, RGB"],
    ["", "none — the dataset holds preprocessed .npy tensors"],
    ["custom", "custom spec…"],
  ];
  // Input shapes that match a preprocessing preset (used to prefill the shape fields).
  const PRESET_SHAPES = {
    "ppocr-cls": "1x3x48x192",
    "ppocr-rec": "1x3x48x320",
    "ppocr-det": "1x3x640x640",
    "imagenet": "1x3x224x224",
  };
  const PRESET_METRICS = {
    "ppocr-cls": { metric: "top1", classes: "0,180" },
    "ppocr-rec": { metric: "ctc-char-accuracy", classes: "" },
    "ppocr-det": { metric: "text-det-hmean", classes: "" },
    "imagenet": { metric: "top1", classes: "" },
  };
  const METRICS = ["top1", "top5", "ctc-char-accuracy", "ctc-line-accuracy", "text-det-hmean"];
  const RANGE_ESTIMATORS = ["", "min_max", "mean_min_max", "performance", "quantile", "mse"];
  const DATASET_EXTENSIONS = [".png", ".jpg", ".jpeg", ".npy"];
  const MAX_MODEL_UPLOAD_BYTES = 512 * 1024 * 1024;
  const MAX_DATASET_FILE_BYTES = 64 * 1024 * 1024;
  const POLL_MS = 1000;
  const HEALTH_MS = 5000;
  const ACTIVE = new Set(["queued", "running"]);
  const COLORS = { fp32: "#e08a1e", int8: "#2e9d5b", accent: "#2f5fd0", bad: "#c0392b", grey: "#9aa3b2" };

  if (window.Chart) {
    Chart.defaults.animation = false;  // screenshots and tests see the final picture at once
    Chart.defaults.font.family = "system-ui, sans-serif";
    Chart.defaults.maintainAspectRatio = false;
  }

  // ------------------------------------------------------------------------------------------------
  // DOM and formatting helpers

  // h("div", {class: "x", onclick: fn}, child, "text", [more children]) -> Element (text is never HTML).
  function h(tag, attrs, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(element.dataset, value);
      else if (key === "value" || key === "checked" || key === "disabled" || key === "selected" || key === "hidden") element[key] = value;
      else element.setAttribute(key, value === true ? "" : value);
    }
    append(element, children);
    return element;
  }
  function append(element, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  function isNumber(value) { return typeof value === "number" && Number.isFinite(value); }
  function fmtBytes(bytes) {
    if (!isNumber(bytes)) return "—";
    const units = ["B", "KiB", "MiB", "GiB"];
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return (unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)) + " " + units[unit];
  }
  function fmtCount(count) {
    if (!isNumber(count)) return "—";
    if (count >= 1e9) return (count / 1e9).toFixed(2) + " G";
    if (count >= 1e6) return (count / 1e6).toFixed(2) + " M";
    if (count >= 1e3) return (count / 1e3).toFixed(1) + " k";
    return String(count);
  }
  function fmtMs(ms) { return isNumber(ms) ? (ms < 10 ? ms.toFixed(3) : ms.toFixed(2)) + " ms" : "—"; }
  function fmtFps(fps) { return isNumber(fps) ? fps.toFixed(1) + " fps" : "—"; }
  function fmtMetric(value) { return isNumber(value) ? value.toFixed(4) : "—"; }
  // A drop (reference metric minus this one, as a fraction) in points; negative: better than the reference.
  function fmtDrop(drop) { return isNumber(drop) ? (drop * 100).toFixed(2) + " pts" : "—"; }
  function fmtSpeedup(speedup) { return isNumber(speedup) ? speedup.toFixed(2) + "×" : "—"; }
  function fmtTime(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
  }
  function fmtDuration(job) {
    if (!job.started_at) return "";
    const end = job.finished_at ? new Date(job.finished_at) : new Date();
    const seconds = Math.max(0, (end - new Date(job.started_at)) / 1000);
    return seconds < 60 ? seconds.toFixed(1) + " s" : Math.floor(seconds / 60) + " min " + Math.round(seconds % 60) + " s";
  }
  // A share of the total time: the API gives a fraction (0..1); a value above 1 is taken as percent.
  function shareFraction(share, all) {
    const percent = all.some((value) => isNumber(value) && value > 1.0001);
    return isNumber(share) ? (percent ? share / 100 : share) : 0;
  }

  // ------------------------------------------------------------------------------------------------
  // API access

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  function authHeaders() { return TOKEN ? { Authorization: "Bearer " + TOKEN } : {}; }
  function withToken(url) { return TOKEN ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN) : url; }

  async function api(method, path, body) {
    const init = { method, headers: authHeaders(), credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new ApiError(`${method} ${path}: the server does not answer (${error.message})`, 0);
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (error) { data = null; }
    if (!response.ok) {
      const message = data && data.error ? data.error : `${response.status} ${response.statusText}`;
      if (response.status === 401) {
        throw new ApiError(`${message}: open the URL that \`octet workbench\` printed (it carries ?token=...)`, 401);
      }
      throw new ApiError(message, response.status);
    }
    if (data === null && text) throw new ApiError(`${method} ${path}: the answer is not JSON`, response.status);
    return data;
  }

  // multipart upload with progress (fetch has no upload progress): resolves with the parsed JSON.
  function upload(path, formData, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("POST", path);
      for (const [key, value] of Object.entries(authHeaders())) request.setRequestHeader(key, value);
      request.upload.onprogress = (event) => { if (event.lengthComputable && onProgress) onProgress(event.loaded, event.total); };
      request.onerror = () => reject(new ApiError(`POST ${path}: upload failed (connection lost)`, 0));
      request.onload = () => {
        let data = null;
        try { data = JSON.parse(request.responseText); } catch (error) { data = null; }
        if (request.status >= 200 && request.status < 300 && data) resolve(data);
        else reject(new ApiError(data && data.error ? data.error : `POST ${path}: ${request.status} ${request.statusText}`, request.status));
      };
      request.send(formData);
    });
  }

  // ------------------------------------------------------------------------------------------------
  // Page state, banner, charts

  const state = {
    project: null,         // the open project (GET /api/projects/{id})
    datasets: [],          // GET /api/datasets
    jobs: [],              // jobs of the open project, newest first
    tab: null,             // the open tab's object: {render, onJobFinished}
    routeToken: 0,         // bumps on every navigation: stale async renders check it and stop
    pollTimer: null,
    pollUntil: 0,          // poll at least until this time (a job was just submitted)
    charts: new Map(),     // key -> Chart
    graph: null,           // OctetGraph view of the Inspect tab
    selectedBenchmarkJob: null,
  };

  function showError(error) {
    const banner = $("#banner");
    banner.textContent = "";
    const message = error instanceof Error ? error.message : String(error);
    append(banner, [h("div", { class: "message", role: "alert" }, message),
      h("button", { title: "dismiss", onclick: () => { banner.hidden = true; } }, "×")]);
    banner.hidden = false;
    console.error(error);
  }
  function clearError() { $("#banner").hidden = true; }

  // Runs an async UI action; errors go to the banner (or to `errorElement` when given).
  async function guard(action, errorElement) {
    try {
      if (errorElement) errorElement.textContent = "";
      return await action();
    } catch (error) {
      if (errorElement) errorElement.textContent = error.message;
      else showError(error);
      return undefined;
    }
  }

  function setChart(key, canvas, config) {
    if (state.charts.has(key)) state.charts.get(key).destroy();
    if (!window.Chart) {
      canvas.replaceWith(h("div", { class: "empty" }, "chart library not loaded (/vendor/chart.umd.js)"));
      return null;
    }
    const chart = new Chart(canvas, config);
    state.charts.set(key, chart);
    return chart;
  }
  function destroyCharts() {
    for (const chart of state.charts.values()) chart.destroy();
    state.charts.clear();
  }

  const store = {
    get(key, fallback) {
      try { const value = localStorage.getItem("octet." + key); return value === null ? fallback : JSON.parse(value); } catch (error) { return fallback; }
    },
    set(key, value) { try { localStorage.setItem("octet." + key, JSON.stringify(value)); } catch (error) { /* private mode */ } },
  };
  // The ignore list of a project (node names or op types), edited in Inspect and Optimize.
  const ignored = {
    list(projectId) { return store.get(`ignored.${projectId}`, []); },
    has(projectId, name) { return this.list(projectId).includes(name); },
    set(projectId, names) { store.set(`ignored.${projectId}`, Array.from(new Set(names.filter(Boolean)))); },
    toggle(projectId, name) {
      const names = this.list(projectId);
      this.set(projectId, names.includes(name) ? names.filter((n) => n !== name) : names.concat([name]));
    },
  };

  // ------------------------------------------------------------------------------------------------
  // Header: breadcrumbs and server health

  function setBreadcrumbs(parts) {
    const nav = $("#breadcrumbs");
    nav.textContent = "";
    parts.forEach((part, index) => {
      if (index > 0) nav.append(h("span", { class: "sep" }, "/"));
      nav.append(part.href ? h("a", { href: part.href }, part.label) : h("span", {}, part.label));
    });
  }

  async function refreshHealth() {
    const element = $("#health");
    try {
      const health = await api("GET", "/api/health");
      element.className = "health";
      element.textContent = "";
      append(element, [h("span", { class: "dot" }), `octet ${health.version || ""} · ${health.jobs_running || 0} running · ${health.jobs_queued || 0} queued`]);
    } catch (error) {
      element.className = "health down";
      element.textContent = "";
      append(element, [h("span", { class: "dot" }), error.status === 401 ? "access token missing or wrong" : "server unreachable"]);
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Router

  async function route() {
    clearError();
    destroyCharts();
    state.graph = null;
    state.tab = null;
    const token = ++state.routeToken;
    const parts = (location.hash || "#/projects").replace(/^#\/?/, "").split("/").filter(Boolean);
    const app = $("#app");
    app.textContent = "";
    app.append(h("div", { class: "empty" }, "loading…"));
    try {
      if (parts[0] === "project" && parts[1]) {
        await renderProject(app, Number(parts[1]), parts[2] || "inspect", parts[3] ? Number(parts[3]) : null, token);
      } else {
        await renderProjects(app, token);
      }
    } catch (error) {
      if (token !== state.routeToken) return;
      app.textContent = "";
      app.append(h("div", { class: "panel" }, h("h2", {}, "Could not load this page"), h("p", { class: "form-error" }, error.message),
        h("a", { href: "#/projects" }, "← back to the projects")));
    }
  }
  const stale = (token) => token !== state.routeToken;

  // ------------------------------------------------------------------------------------------------
  // Projects page

  async function renderProjects(app, token) {
    setBreadcrumbs([{ label: "Projects" }]);
    state.project = null;
    const [projects, datasets, models] = await Promise.all([api("GET", "/api/projects"), api("GET", "/api/datasets"), api("GET", "/api/models")]);
    if (stale(token)) return;
    state.datasets = datasets;
    const modelName = new Map(models.map((model) => [model.id, model.name]));
    const datasetName = new Map(datasets.map((dataset) => [dataset.id, dataset.name]));
    app.textContent = "";

    const list = h("div", { class: "panel" }, h("h2", {}, "Projects"));
    if (projects.length === 0) {
      list.append(h("div", { class: "empty" }, "No project yet: create one below from an ONNX model and a dataset."));
    } else {
      list.append(h("table", { id: "project-table" },
        h("thead", {}, h("tr", {}, ["Name", "Model", "Dataset", "Preprocessing", "Versions", "Created"].map((title) => h("th", {}, title)))),
        h("tbody", {}, projects.slice().reverse().map((project) =>
          h("tr", { class: "clickable", dataset: { projectId: project.id }, onclick: () => { location.hash = `#/project/${project.id}/inspect`; } },
            h("td", {}, h("a", { href: `#/project/${project.id}/inspect` }, project.name)),
            h("td", {}, modelName.get(project.model_id) || `#${project.model_id}`),
            h("td", {}, datasetName.get(project.dataset_id) || `#${project.dataset_id}`),
            h("td", {}, h("code", {}, project.preprocess || "none")),
            h("td", { class: "num" }, project.models ? project.models.length : "—"),
            h("td", { class: "nowrap" }, fmtTime(project.created_at)))))));
    }
    app.append(list, newProjectForm(datasets));
  }

  function radioGroup(name, options, checked, onChange) {
    return h("div", { class: "choice", role: "radiogroup" }, options.map(([value, label]) =>
      h("label", {}, h("input", { type: "radio", name, value, checked: value === checked, onchange: () => onChange(value) }), label)));
  }

  function newProjectForm(datasets) {
    const errorElement = h("div", { class: "form-error", id: "create-error" });
    const statusElement = h("div", { class: "form-status", id: "create-status" });

    const modelPath = h("input", { type: "text", id: "model-path", placeholder: "/absolute/path/model.onnx", size: 60 });
    const modelFile = h("input", { type: "file", id: "model-file", accept: ".onnx" });
    const modelSource = { value: "path" };
    const modelBlocks = { path: h("div", { class: "field" }, modelPath, h("span", { class: "hint" }, "a file on the machine that runs the server")), upload: h("div", { class: "field", hidden: true }, modelFile, h("span", { class: "hint" }, "up to 512 MiB")) };

    const datasetPath = h("input", { type: "text", id: "dataset-path", placeholder: "/absolute/path/folder", size: 60 });
    const datasetFiles = h("input", { type: "file", id: "dataset-files", multiple: true, accept: ".png,.jpg,.jpeg,.npy,.tsv" });
    const datasetFolder = h("input", { type: "file", id: "dataset-folder", webkitdirectory: true, multiple: true });
    const datasetZip = h("input", { type: "file", id: "dataset-zip", accept: ".zip" });
    const datasetExisting = h("select", { id: "dataset-existing" }, datasets.map((dataset) =>
      h("option", { value: dataset.id }, `${dataset.name} (${dataset.sample_count} ${dataset.kind}${dataset.has_labels ? ", labeled" : ""})`)));
    const datasetSource = { value: "files" };
    const datasetBlocks = {
      path: h("div", { class: "field", hidden: true }, datasetPath, h("span", { class: "hint" }, "a folder of .png/.jpg or .npy samples, with labels.tsv when labeled")),
      files: h("div", { class: "field" }, datasetFiles, h("span", { class: "hint" }, "select the samples and labels.tsv (each file up to 64 MiB)")),
      folder: h("div", { class: "field", hidden: true }, datasetFolder, h("span", { class: "hint" }, "a whole folder; files other than images, .npy and labels.tsv are left out")),
      zip: h("div", { class: "field", hidden: true }, datasetZip, h("span", { class: "hint" }, "a .zip of such files")),
      existing: h("div", { class: "field", hidden: true }, datasets.length ? datasetExisting : h("span", { class: "hint" }, "no dataset yet")),
    };
    const datasetName = h("input", { type: "text", id: "dataset-name", placeholder: "(default: the folder or project name)" });

    const preprocessSelect = h("select", { id: "preprocess" }, PRESETS.map(([value, label]) => h("option", { value }, label)));
    const customSpec = h("input", { type: "text", id: "preprocess-custom", size: 60, placeholder: "resize=48x320:keep-ratio-pad,mean=0.5:0.5:0.5,std=0.5:0.5:0.5,bgr", hidden: true });
    preprocessSelect.addEventListener("change", () => { customSpec.hidden = preprocessSelect.value !== "custom"; });

    const projectName = h("input", { type: "text", id: "project-name", placeholder: "e.g. ppocr cls", required: true });
    const submit = h("button", { type: "submit", class: "primary", id: "create-project" }, "Create project");

    const show = (blocks, value) => { for (const [key, block] of Object.entries(blocks)) block.hidden = key !== value; };

    const form = h("form", { class: "panel", id: "new-project" },
      h("h2", {}, "New project"),
      h("div", { class: "field" }, h("label", { for: "project-name" }, "Project name"), projectName),
      h("fieldset", {}, h("legend", {}, "Model (ONNX, FP32)"),
        radioGroup("model-source", [["path", "Path on this machine"], ["upload", "Upload a file"]], "path", (value) => { modelSource.value = value; show(modelBlocks, value); }),
        modelBlocks.path, modelBlocks.upload),
      h("fieldset", {}, h("legend", {}, "Dataset (calibration and accuracy)"),
        radioGroup("dataset-source", [["files", "Upload files"], ["folder", "Upload a folder"], ["zip", "Upload a .zip"], ["path", "Path on this machine"], ["existing", "Existing dataset"]], "files",
          (value) => { datasetSource.value = value; show(datasetBlocks, value); }),
        Object.values(datasetBlocks),
        h("div", { class: "field" }, h("label", { for: "dataset-name" }, "Dataset name"), datasetName)),
      h("fieldset", {}, h("legend", {}, "Preprocessing (images → model input)"),
        h("div", { class: "field" }, preprocessSelect, customSpec,
          h("span", { class: "hint" }, "The same specs as `octet eval/quantize --preprocess`; choose none for .npy tensors."))),
      h("div", { class: "actions" }, submit),
      statusElement, errorElement);

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit.disabled = true;
      guard(async () => {
        const name = projectName.value.trim();
        if (!name) throw new Error("Project name: required");
        const preprocess = preprocessSelect.value === "custom" ? customSpec.value.trim() : preprocessSelect.value;
        if (preprocessSelect.value === "custom" && !preprocess) throw new Error("Preprocessing: the custom spec is empty");

        statusElement.textContent = "Adding the model…";
        const model = await createModel(modelSource.value, modelPath, modelFile, name, (done, total) => {
          statusElement.textContent = `Uploading the model… ${Math.round((100 * done) / total)} %`;
        });
        statusElement.textContent = "Adding the dataset…";
        const dataset = await createDataset(datasetSource.value, { datasetPath, datasetFiles, datasetFolder, datasetZip, datasetExisting },
          datasetName.value.trim() || name, (done, total) => {
            statusElement.textContent = `Uploading the dataset… ${Math.round((100 * done) / total)} %`;
          });
        statusElement.textContent = "Creating the project…";
        const project = await api("POST", "/api/projects", { name, model_id: model.id, dataset_id: dataset.id, preprocess });
        statusElement.textContent = `Project "${project.name}" created.`;
        location.hash = `#/project/${project.id}/inspect`;
      }, errorElement).finally(() => { submit.disabled = false; if (errorElement.textContent) statusElement.textContent = ""; });
    });
    return form;
  }

  async function createModel(source, pathInput, fileInput, fallbackName, onProgress) {
    if (source === "path") {
      const path = pathInput.value.trim();
      if (!path) throw new Error("Model: enter the path of an .onnx file");
      return api("POST", "/api/models", { path, name: baseName(path) });
    }
    const file = fileInput.files[0];
    if (!file) throw new Error("Model: choose an .onnx file to upload");
    if (!file.name.toLowerCase().endsWith(".onnx")) throw new Error(`Model: ${file.name} is not an .onnx file`);
    if (file.size > MAX_MODEL_UPLOAD_BYTES) throw new Error(`Model: ${file.name} is larger than 512 MiB`);
    const formData = new FormData();
    formData.append("file", file, file.name);
    formData.append("name", file.name || fallbackName);
    return upload("/api/models", formData, onProgress);
  }

  function isDatasetFile(name) {
    const lower = name.toLowerCase();
    return lower === "labels.tsv" || DATASET_EXTENSIONS.some((extension) => lower.endsWith(extension));
  }

  async function createDataset(source, inputs, name, onProgress) {
    if (source === "existing") {
      const id = Number(inputs.datasetExisting.value);
      if (!id) throw new Error("Dataset: no dataset to choose yet");
      return { id };
    }
    if (source === "path") {
      const path = inputs.datasetPath.value.trim();
      if (!path) throw new Error("Dataset: enter the path of a folder");
      return api("POST", "/api/datasets", { path, name });
    }
    const formData = new FormData();
    formData.append("name", name);
    if (source === "zip") {
      const file = inputs.datasetZip.files[0];
      if (!file) throw new Error("Dataset: choose a .zip file");
      if (!file.name.toLowerCase().endsWith(".zip")) throw new Error(`Dataset: ${file.name} is not a .zip file`);
      formData.append("archive", file, file.name);
    } else {
      const all = Array.from((source === "folder" ? inputs.datasetFolder : inputs.datasetFiles).files);
      const files = all.filter((file) => isDatasetFile(file.name));
      if (files.length === 0) throw new Error("Dataset: no .png/.jpg/.npy sample among the chosen files");
      if (!files.some((file) => file.name.toLowerCase() !== "labels.tsv")) throw new Error("Dataset: only labels.tsv was chosen, no sample");
      const tooBig = files.find((file) => file.size > MAX_DATASET_FILE_BYTES);
      if (tooBig) throw new Error(`Dataset: ${tooBig.name} is larger than 64 MiB`);
      for (const file of files) formData.append("files", file, file.name);
    }
    return upload("/api/datasets", formData, onProgress);
  }

  function baseName(path) { return path.split(/[\\/]/).filter(Boolean).pop() || path; }

  // ------------------------------------------------------------------------------------------------
  // Project page: header, tabs, job polling

  async function loadProject(projectId) {
    const [project, datasets, jobs] = await Promise.all([
      api("GET", `/api/projects/${projectId}`), api("GET", "/api/datasets"), api("GET", `/api/jobs?project_id=${projectId}`)]);
    state.project = project;
    state.datasets = datasets;
    state.jobs = sortJobs(jobs);
    return project;
  }

  function sortJobs(jobs) { return jobs.slice().sort((a, b) => b.id - a.id); }
  function modelById(id) { return (state.project && state.project.models || []).find((model) => model.id === id); }
  function modelLabel(id) {
    const model = modelById(id);
    return model ? `${model.name} (${model.precision.toUpperCase()})` : `model #${id}`;
  }
  function datasetById(id) { return state.datasets.find((dataset) => dataset.id === id); }

  async function renderProject(app, projectId, tabName, modelId, token) {
    const project = await loadProject(projectId);
    if (stale(token)) return;
    if (!TABS.some(([name]) => name === tabName)) tabName = "inspect";
    setBreadcrumbs([{ label: "Projects", href: "#/projects" }, { label: project.name }]);
    const dataset = datasetById(project.dataset_id);
    app.textContent = "";
    app.append(
      h("div", { class: "project-head" },
        h("h1", { id: "project-title" }, project.name),
        h("span", { class: "meta" }, `model ${modelLabel(project.model_id)} · dataset ${dataset ? `${dataset.name} (${dataset.sample_count} samples${dataset.has_labels ? ", labeled" : ""})` : "#" + project.dataset_id} · preprocessing `,
          h("code", {}, project.preprocess || "none"))),
      h("nav", { class: "tabs", id: "tabs" }, TABS.map(([name, label]) =>
        h("a", { href: `#/project/${projectId}/${name}`, class: name === tabName ? "active" : "", dataset: { tab: name } }, label))),
      h("div", { id: "tab" }));
    const tabs = { inspect: InspectTab, benchmark: BenchmarkTab, optimize: OptimizeTab, compare: CompareTab, export: ExportTab };
    state.tab = tabs[tabName]($("#tab"), modelId, token);
    await state.tab.render();
    ensurePolling();
  }

  // Keeps polling while a job of the open project is queued or running (or one was just submitted).
  function ensurePolling() {
    if (state.pollTimer) return;
    state.pollTimer = setInterval(pollJobs, POLL_MS);
  }

  let polling = false;
  async function pollJobs() {
    if (!state.project) { clearInterval(state.pollTimer); state.pollTimer = null; return; }
    const active = state.jobs.some((job) => ACTIVE.has(job.status));
    if (!active && Date.now() > state.pollUntil) return;
    if (polling) return;
    polling = true;
    const projectId = state.project.id;
    const token = state.routeToken;
    try {
      const jobs = sortJobs(await api("GET", `/api/jobs?project_id=${projectId}`));
      refreshHealth();
      if (token !== state.routeToken || !state.project || state.project.id !== projectId) return;
      const before = new Map(state.jobs.map((job) => [job.id, job.status]));
      state.jobs = jobs;
      const finished = jobs.filter((job) => !ACTIVE.has(job.status) && (before.get(job.id) === undefined || ACTIVE.has(before.get(job.id))));
      if (finished.some((job) => job.type === "quantize" && job.status === "done")) {
        const project = await api("GET", `/api/projects/${projectId}`);
        if (token !== state.routeToken) return;
        state.project = project;
      }
      refreshJobLists();
      if (state.tab && state.tab.onJobsFinished && finished.length) await state.tab.onJobsFinished(finished);
    } catch (error) {
      showError(error);
    } finally {
      polling = false;
    }
  }

  async function submitJob(type, modelId, params) {
    const job = await api("POST", "/api/jobs", { type, project_id: state.project.id, model_id: modelId, params });
    state.jobs = sortJobs([job].concat(state.jobs.filter((other) => other.id !== job.id)));
    state.pollUntil = Date.now() + 3000;
    refreshJobLists();
    ensurePolling();
    return job;
  }

  async function cancelJob(job) {
    const updated = await api("POST", `/api/jobs/${job.id}/cancel`);
    state.jobs = sortJobs(state.jobs.map((other) => (other.id === updated.id ? updated : other)));
    state.pollUntil = Date.now() + 3000;
    refreshJobLists();
  }

  // ------------------------------------------------------------------------------------------------
  // Job lists (rendered in place on every poll)

  const jobListOptions = new WeakMap();

  function jobList(options) {
    const container = h("div", { class: "job-list", dataset: { types: (options.types || []).join(",") } });
    jobListOptions.set(container, options);
    renderJobList(container);
    return container;
  }

  function refreshJobLists() { for (const container of $$(".job-list")) renderJobList(container); }

  function progressOf(job) {
    const progress = job.progress || {};
    const total = isNumber(progress.total) ? progress.total : 0;
    const done = isNumber(progress.done) ? progress.done : 0;
    if (job.status === "done") return { fraction: 1, label: "done" };
    if (total > 0) return { fraction: Math.min(1, done / total), label: `${progress.stage || ""} ${done}/${total}`.trim() };
    return { fraction: null, label: progress.stage || job.status };
  }

  function renderJobList(container) {
    const options = jobListOptions.get(container) || {};
    const jobs = state.jobs.filter((job) => !options.types || options.types.length === 0 || options.types.includes(job.type));
    container.textContent = "";
    if (jobs.length === 0) {
      container.append(h("div", { class: "empty small" }, options.empty || "No job yet."));
      return;
    }
    const rows = [];
    for (const job of jobs) {
      const progress = progressOf(job);
      const bar = h("div", { class: `progress ${job.status}${progress.fraction === null && job.status === "running" ? " indeterminate" : ""}` },
        h("div", { class: "bar", style: `width: ${Math.round(100 * (progress.fraction === null ? (job.status === "running" ? 0.3 : 0) : progress.fraction))}%` }));
      const actions = [];
      if (ACTIVE.has(job.status)) {
        actions.push(h("button", { class: "small danger", dataset: { action: "cancel" }, onclick: () => guard(() => cancelJob(job)) }, "Cancel"));
      }
      if (options.onView && job.status === "done") {
        actions.push(h("button", { class: "small", dataset: { action: "view" }, onclick: () => options.onView(job) }, "View"));
      }
      if (job.type === "quantize" && job.status === "done" && job.result && job.result.model_id) {
        actions.push(h("a", { class: "small", href: `#/project/${job.project_id}/compare` }, `→ ${modelLabel(job.result.model_id)}`));
      }
      if (job.type === "accuracy" && job.status === "done" && job.result) {
        actions.push(h("span", { class: "small mono" }, `${job.result.metric} ${fmtMetric(job.result.value)}`));
      }
      rows.push(h("tr", { class: "job" + (options.selected && options.selected() === job.id ? " selected" : ""), dataset: { jobId: job.id, status: job.status, type: job.type } },
        h("td", { class: "num" }, `#${job.id}`),
        h("td", {}, jobTitle(job)),
        h("td", {}, modelLabel(job.model_id)),
        h("td", {}, h("span", { class: `badge ${job.status}` }, job.status)),
        h("td", {}, bar, h("div", { class: "progress-label" }, progress.label)),
        h("td", { class: "nowrap small muted" }, fmtDuration(job)),
        h("td", {}, h("div", { class: "actions", style: "margin: 0" }, actions))));
      if (job.status === "failed" && job.error) {
        rows.push(h("tr", { class: "job-error-row", dataset: { jobId: job.id } }, h("td", {}), h("td", { colspan: 6, class: "job-error" }, `Error: ${job.error}`)));
      }
    }
    container.append(h("table", {},
      h("thead", {}, h("tr", {}, ["Job", "Type", "Version", "Status", "Progress", "Time", ""].map((title) => h("th", {}, title)))),
      h("tbody", {}, rows)));
  }

  function jobTitle(job) {
    const params = job.params || {};
    if (job.type === "quantize") {
      return params.algorithm === "accuracy-aware" ? `AccuracyAware (${params.metric || "?"}, max drop ${params.max_drop})` : `DefaultQuantization (${params.preset || "performance"})`;
    }
    if (job.type === "benchmark") {
      return `benchmark ${params.shape || ""} b${params.batch || 1}×s${params.streams || 1}${params.grid ? " + grid" : ""}`;
    }
    if (job.type === "accuracy") return `accuracy (${params.metric || "?"})`;
    return job.type;
  }

  // ------------------------------------------------------------------------------------------------
  // Shared form pieces

  function modelSelect(id, selectedId, filter) {
    const models = (state.project.models || []).filter(filter || (() => true));
    return h("select", { id }, models.map((model) =>
      h("option", { value: model.id, selected: model.id === selectedId }, `${model.name} (${model.precision.toUpperCase()}, ${fmtBytes(model.size_bytes)})`)));
  }
  function datasetSelect(id, selectedId) {
    return h("select", { id }, state.datasets.map((dataset) =>
      h("option", { value: dataset.id, selected: dataset.id === selectedId }, `${dataset.name} (${dataset.sample_count}${dataset.has_labels ? ", labeled" : ", no labels"})`)));
  }
  function field(label, input, hint) {
    return h("div", { class: "field" }, h("label", { for: input.id }, label), input, hint ? h("span", { class: "hint" }, hint) : null);
  }
  function numberInput(id, value, attrs) { return h("input", Object.assign({ type: "number", id, value: String(value) }, attrs || {})); }
  function textInput(id, value, attrs) { return h("input", Object.assign({ type: "text", id, value: value || "" }, attrs || {})); }

  // The shape option for a project: what the user last used, else the preset's shape on the first input.
  function defaultShape(inputName) {
    const saved = store.get(`shape.${state.project.id}`, null);
    if (saved !== null) return saved;
    const dims = PRESET_SHAPES[state.project.preprocess];
    return dims && inputName ? `${inputName}=${dims}` : "";
  }
  function defaultMetric() {
    const saved = store.get(`metric.${state.project.id}`, null);
    return saved || Object.assign({ metric: "top1", classes: "", dict: "" }, PRESET_METRICS[state.project.preprocess] || {});
  }

  function card(label, value, sub, attrs) {
    if (attrs && attrs.dataset) attrs.dataset = Object.fromEntries(Object.entries(attrs.dataset).filter(([, v]) => v !== undefined && v !== null));
    return h("div", Object.assign({ class: "card" }, attrs || {}), h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
  }

  // ------------------------------------------------------------------------------------------------
  // Inspect tab

  function InspectTab(root, modelId, token) {
    const project = state.project;
    let current = modelId && modelById(modelId) ? modelId : project.model_id;
    let data = null;
    let selectedNode = null;

    const select = modelSelect("inspect-model", current);
    const shape = textInput("inspect-shape", store.get(`shape.${project.id}`, ""), { placeholder: "x=1x3x48x192 (for MACs)", size: 24 });
    const button = h("button", { class: "primary", id: "inspect-run" }, "Inspect");
    const result = h("div", { id: "inspect-result" }, h("div", { class: "empty" }, "loading…"));
    select.addEventListener("change", () => { current = Number(select.value); load(); });
    button.addEventListener("click", () => { store.set(`shape.${project.id}`, shape.value.trim()); load(); });

    async function load() {
      const query = shape.value.trim() ? `?shape=${encodeURIComponent(shape.value.trim())}` : "";
      result.textContent = "";
      result.append(h("div", { class: "empty" }, "inspecting…"));
      await guard(async () => {
        let answer = await api("GET", `/api/models/${current}/inspect${query}`);
        if (answer.inputs && answer.inputs[0]) store.set(`input.${project.id}`, answer.inputs[0].name);
        // No shape given: show the one the server took (from the project's first sample); when it took
        // none, try the preset's shape on the first input and ask again for the MACs of that shape.
        if (!query && answer.inputs && answer.inputs[0]) {
          const taken = Object.entries(answer.mac_input_shapes || {}).filter(([, dims]) => Array.isArray(dims) && dims.length);
          const guess = defaultShape(answer.inputs[0].name);
          const dynamic = (answer.inputs[0].shape || []).some((dim) => typeof dim !== "number" || dim < 0);
          if (taken.length) {
            shape.value = taken.map(([name, dims]) => `${name}=${dims.join("x")}`).join(",");
          } else if (guess && dynamic) {
            shape.value = guess;
            answer = await api("GET", `/api/models/${current}/inspect?shape=${encodeURIComponent(guess)}`);
          }
        }
        if (stale(token)) return;
        data = answer;
        draw();
      }, result);
    }

    function draw() {
      result.textContent = "";
      const nodes = data.nodes || [];
      const counts = { int8: 0, fp32: 0, fused: 0, folded: 0 };
      for (const node of nodes) if (node.op_type !== "Constant") counts[node.precision] = (counts[node.precision] || 0) + 1;
      const model = modelById(current);
      // The API gives numbers; `octet inspect --json` style objects ({count, bytes}, {total}) are read too.
      const parameters = isNumber(data.parameters) ? data.parameters : data.parameters && data.parameters.count;
      const parameterBytes = isNumber(data.parameter_bytes) ? data.parameter_bytes : data.parameters && data.parameters.bytes;
      const macs = isNumber(data.macs) ? data.macs : data.macs && data.macs.total;
      result.append(h("div", { class: "cards" },
        card("File size", fmtBytes(data.size_bytes), model ? model.precision.toUpperCase() : ""),
        card("Parameters", fmtCount(parameters), fmtBytes(parameterBytes)),
        card("MACs", fmtCount(macs), shape.value.trim() ? `for ${shape.value.trim()}` : "give a shape"),
        card("Nodes", String(nodes.filter((node) => node.op_type !== "Constant").length), `${counts.int8} int8 · ${counts.fused} fused · ${counts.fp32} fp32 · ${counts.folded} folded`),
        card("Unsupported", String((data.unsupported || []).length), (data.unsupported || []).length ? "ops the runtime cannot run" : "every op runs")));

      const ioRows = [].concat(
        (data.inputs || []).map((io) => ["input", io]), (data.outputs || []).map((io) => ["output", io]))
        .map(([kind, io]) => h("tr", {}, h("td", {}, kind), h("td", { class: "mono" }, io.name), h("td", {}, io.dtype), h("td", { class: "mono" }, formatShape(io.shape))));
      const histogram = Object.entries(data.op_histogram || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      const histogramCanvas = h("canvas", { id: "op-histogram" });
      result.append(h("div", { class: "grid2" },
        h("div", { class: "panel" }, h("h2", {}, "Inputs and outputs"),
          h("table", { id: "io-table" }, h("thead", {}, h("tr", {}, ["", "Name", "Type", "Shape"].map((title) => h("th", {}, title)))), h("tbody", {}, ioRows)),
          reasonsTable("Unsupported nodes", "unsupported-table", data.unsupported || [], "No unsupported op: every node has a kernel."),
          reasonsTable("Nodes that stay FP32", "fp32-table", data.fp32_nodes || [], "No node stays FP32.")),
        h("div", { class: "panel" }, h("h2", {}, "Op histogram"),
          h("div", { class: "chart-box", style: `height: ${Math.max(220, histogram.length * 20 + 40)}px` }, histogramCanvas))));
      setChart("op-histogram", histogramCanvas, {
        type: "bar",
        data: { labels: histogram.map(([op]) => op), datasets: [{ label: "nodes", data: histogram.map(([, count]) => count), backgroundColor: COLORS.accent }] },
        options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
      });

      result.append(graphPanel(nodes), nodeTablePanel(nodes));
    }

    function reasonsTable(title, id, rows, emptyText) {
      return h("div", {}, h("h3", {}, `${title} (${rows.length})`),
        rows.length === 0 ? h("div", { class: "muted small" }, emptyText) :
          h("div", { class: "table-scroll", style: "max-height: 220px" }, h("table", { id },
            h("thead", {}, h("tr", {}, ["Node", "Op", "Reason"].map((t) => h("th", {}, t)))),
            h("tbody", {}, rows.map((row) => h("tr", { class: "clickable", onclick: () => focusNode(row.node) },
              h("td", { class: "mono" }, row.node), h("td", {}, row.op_type), h("td", {}, row.reason)))))));
    }

    function isInt8Model() { const model = modelById(current); return model && model.precision === "int8"; }

    function graphPanel(nodes) {
      const view = h("div", { class: "graph-view", id: "graph-view" });
      const details = h("div", { class: "node-details", id: "node-details" }, h("div", { class: "muted" }, "Click a node to see its details."));
      const showConstants = h("input", { type: "checkbox", id: "graph-constants" });
      const panel = h("div", { class: "panel" },
        h("h2", {}, "Graph"),
        h("div", { class: "graph-toolbar" },
          h("button", { class: "small", onclick: () => state.graph && state.graph.fit() }, "Fit all"),
          h("button", { class: "small", onclick: () => state.graph && state.graph.fitWidth() }, "Fit width"),
          h("button", { class: "small", onclick: () => state.graph && state.graph.zoomBy(1.25) }, "+"),
          h("button", { class: "small", onclick: () => state.graph && state.graph.zoomBy(0.8) }, "−"),
          h("label", { class: "check small" }, showConstants, "show constant-only nodes (Constant, weight DequantizeLinear…)"),
          h("span", { class: "hint" }, "drag to pan, wheel to zoom, click a node"),
          h("div", { class: "legend" },
            h("span", {}, h("i", { style: `background:${COLORS.int8}` }), "int8"),
            h("span", {}, h("i", { style: "background:#8b5cc7" }), "fused"),
            h("span", {}, h("i", { style: `background:${COLORS.fp32}` }), "fp32"),
            h("span", {}, h("i", { style: "background:#9aa3b2" }), "folded"),
            h("span", {}, h("i", { style: "background:#fff;border:2px dashed #c0392b" }), "ignored"))),
        h("div", { class: "graph-wrap" }, view, details));
      // The view measures its box: create it once the panel is in the document.
      requestAnimationFrame(() => {
        if (!view.isConnected || !window.OctetGraph) return;
        state.graph = OctetGraph.create(view, {
          nodes, inputs: data.inputs, outputs: data.outputs,
          isIgnored: (name) => ignored.has(project.id, name),
          onSelect: (node) => showDetails(node),
        });
      });
      showConstants.addEventListener("change", () => state.graph && state.graph.setShowConstants(showConstants.checked));
      return panel;
    }

    function showDetails(node) {
      selectedNode = node;
      const details = $("#node-details");
      if (!details) return;
      details.textContent = "";
      if (!node) { details.append(h("div", { class: "muted" }, "Click a node to see its details.")); return; }
      const isIgnored = ignored.has(project.id, node.name);
      append(details, [
        h("h3", { style: "margin-top: 0" }, node.op_type, " ", h("span", { class: `badge ${node.precision}` }, node.precision)),
        h("dl", {},
          h("dt", {}, "name"), h("dd", { class: "mono" }, node.name),
          h("dt", {}, "kernel"), h("dd", {}, node.kernel || "—"),
          h("dt", {}, "note"), h("dd", {}, node.note || "—"),
          h("dt", {}, "inputs"), h("dd", { class: "mono" }, (node.inputs || []).filter(Boolean).join(", ") || "—"),
          h("dt", {}, "outputs"), h("dd", { class: "mono" }, (node.outputs || []).join(", ") || "—")),
        h("div", { class: "actions" },
          h("button", {
            id: "toggle-ignore", class: isIgnored ? "danger" : "",
            disabled: isInt8Model(), title: isInt8Model() ? "ignore lists apply to the FP32 model" : "",
            onclick: () => { toggleIgnore(node.name); },
          }, isIgnored ? "Stop ignoring (quantize it)" : "Ignore in quantization")),
        isInt8Model() ? h("div", { class: "hint" }, "Open the FP32 version to pick nodes to ignore.") : null]);
    }

    function toggleIgnore(name) {
      ignored.toggle(project.id, name);
      if (state.graph) state.graph.refresh();
      for (const box of $$("input.ignore-node")) box.checked = ignored.has(project.id, box.dataset.node);
      if (selectedNode && selectedNode.name === name) showDetails(selectedNode);
      updateIgnoredSummary();
    }

    function focusNode(name) {
      const node = (data.nodes || []).find((n) => n.name === name);
      if (state.graph) state.graph.select(name, { center: true });
      if (node) showDetails(node);
      const view = $("#graph-view");
      if (view) view.scrollIntoView({ behavior: "smooth", block: "center" });
    }

    function updateIgnoredSummary() {
      const element = $("#ignored-summary");
      if (!element) return;
      const names = ignored.list(project.id);
      element.textContent = names.length ? `Ignored in quantization (${names.length}): ${names.join(", ")}` : "No node ignored: every quantizable node is quantized.";
    }

    function nodeTablePanel(nodes) {
      const filter = textInput("node-filter", "", { placeholder: "filter by name, op type, precision, kernel…", size: 40 });
      const body = h("tbody");
      const count = h("span", { class: "muted small" });
      const int8 = isInt8Model();
      const renderRows = () => {
        const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
        const matching = nodes.filter((node) => node.op_type !== "Constant" || words.length).filter((node) => {
          const text = `${node.name} ${node.op_type} ${node.precision} ${node.kernel || ""} ${node.note || ""}`.toLowerCase();
          return words.every((word) => text.includes(word));
        });
        count.textContent = `${matching.length} of ${nodes.length} nodes`;
        body.textContent = "";
        for (const node of matching) {
          body.append(h("tr", { class: "clickable", dataset: { node: node.name }, onclick: (event) => { if (event.target.tagName !== "INPUT") focusNode(node.name); } },
            h("td", {}, h("input", { type: "checkbox", class: "ignore-node", dataset: { node: node.name }, checked: ignored.has(project.id, node.name), disabled: int8,
              title: "ignore in quantization", onchange: () => toggleIgnore(node.name) })),
            h("td", { class: "mono" }, node.name),
            h("td", {}, node.op_type),
            h("td", {}, h("span", { class: `badge ${node.precision}` }, node.precision)),
            h("td", { class: "small" }, node.kernel || ""),
            h("td", { class: "small muted" }, node.note || "")));
        }
      };
      filter.addEventListener("input", renderRows);
      renderRows();
      const panel = h("div", { class: "panel" },
        h("h2", {}, "Nodes"),
        h("div", { class: "graph-toolbar" }, filter, count),
        h("div", { class: "hint", id: "ignored-summary" }),
        h("div", { class: "table-scroll", style: "max-height: 480px; margin-top: 8px" },
          h("table", { id: "node-table" }, h("thead", {}, h("tr", {}, ["Ignore", "Name", "Op", "Precision", "Kernel", "Note"].map((t) => h("th", {}, t)))), body)));
      requestAnimationFrame(updateIgnoredSummary);
      return panel;
    }

    return {
      async render() {
        root.append(h("div", { class: "panel" },
          h("div", { class: "fields" }, field("Model version", select), field("Input shape (NAME=DIMS)", shape, "for MACs and shape inference")),
          h("div", { class: "actions" }, button)), result);
        await load();
      },
      onJobsFinished() { /* a finished job changes nothing shown here */ },
    };
  }

  function formatShape(shape) {
    if (!Array.isArray(shape)) return String(shape === undefined ? "" : shape);
    return shape.map((dim) => (typeof dim === "number" && dim >= 0 ? dim : typeof dim === "string" ? dim : "?")).join(" × ");
  }

  // ------------------------------------------------------------------------------------------------
  // Benchmark tab

  function lastBenchmarkParams() {
    return Object.assign({ shape: "", threads: 2, batch: 1, streams: 1, time_s: 2, profile: true, grid: null }, store.get(`bench.${state.project.id}`, {}));
  }

  function BenchmarkTab(root, modelId) {
    const project = state.project;
    const saved = lastBenchmarkParams();
    const select = modelSelect("bench-model", modelId && modelById(modelId) ? modelId : project.model_id);
    const shape = textInput("bench-shape", saved.shape || defaultShape(store.get(`input.${project.id}`, "")), { placeholder: "x=1x3x48x192", size: 24 });
    const threads = numberInput("bench-threads", saved.threads, { min: 1, max: 256 });
    const batch = numberInput("bench-batch", saved.batch, { min: 1, max: 1024 });
    const streams = numberInput("bench-streams", saved.streams, { min: 1, max: 64 });
    const time = numberInput("bench-time", saved.time_s, { min: 0.1, max: 600, step: 0.1 });
    const profile = h("input", { type: "checkbox", id: "bench-profile", checked: saved.profile !== false });
    const gridOn = h("input", { type: "checkbox", id: "bench-grid", checked: !!saved.grid });
    const gridBatches = textInput("bench-grid-batches", saved.grid ? saved.grid.batches.join(",") : "1,2,4", { size: 12 });
    const gridStreams = textInput("bench-grid-streams", saved.grid ? saved.grid.streams.join(",") : "1,2", { size: 12 });
    const submit = h("button", { class: "primary", id: "bench-run" }, "Run benchmark");
    const status = h("div", { class: "form-status", id: "bench-status" });
    const errorElement = h("div", { class: "form-error", id: "bench-error" });
    const result = h("div", { id: "bench-result" });

    const parseList = (text, what) => {
      const values = text.split(/[,\s]+/).filter(Boolean).map(Number);
      if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < 1)) throw new Error(`${what}: a list of positive integers such as 1,2,4`);
      return values;
    };

    submit.addEventListener("click", () => guard(async () => {
      const params = {
        threads: Number(threads.value), batch: Number(batch.value), streams: Number(streams.value),
        time_s: Number(time.value), profile: profile.checked,
      };
      if (shape.value.trim()) params.shape = shape.value.trim();
      if (gridOn.checked) params.grid = { batches: parseList(gridBatches.value, "Grid batches"), streams: parseList(gridStreams.value, "Grid streams") };
      for (const key of ["threads", "batch", "streams"]) if (!Number.isInteger(params[key]) || params[key] < 1) throw new Error(`${key}: a positive integer`);
      if (!(params.time_s > 0)) throw new Error("time: a positive number of seconds");
      store.set(`bench.${project.id}`, params);
      if (params.shape) store.set(`shape.${project.id}`, params.shape);
      const job = await submitJob("benchmark", Number(select.value), params);
      state.selectedBenchmarkJob = job.id;
      status.textContent = `Job #${job.id} queued.`;
      status.dataset.jobId = job.id;
      showResult();
    }, errorElement));

    function showResult() {
      result.textContent = "";
      const jobs = state.jobs.filter((job) => job.type === "benchmark");
      let job = jobs.find((candidate) => candidate.id === state.selectedBenchmarkJob);
      if (!job) job = jobs.find((candidate) => candidate.status === "done");
      if (!job) { result.append(h("div", { class: "panel empty" }, "Run a benchmark to see latency, throughput and the per-layer profile.")); return; }
      if (job.status !== "done") {
        result.append(h("div", { class: "panel" }, h("h2", {}, `Benchmark #${job.id}: ${job.status}`),
          job.error ? h("div", { class: "job-error" }, job.error) : h("div", { class: "muted" }, "The result appears here when the job is done.")));
        return;
      }
      result.append(benchmarkResult(job));
    }

    return {
      async render() {
        root.append(
          h("div", { class: "panel" },
            h("h2", {}, "Benchmark"),
            h("div", { class: "fields" },
              field("Model version", select), field("Input shape", shape, "NAME=DIMS, empty: the model's"),
              field("Threads", threads), field("Batch", batch), field("Streams", streams), field("Time (s)", time)),
            h("div", { class: "fields" },
              h("label", { class: "check" }, profile, "per-layer profile"),
              h("label", { class: "check" }, gridOn, "batch × streams grid:"),
              field("Batches", gridBatches), field("Streams", gridStreams)),
            h("div", { class: "actions" }, submit), status, errorElement),
          h("div", { class: "panel" }, h("h2", {}, "Benchmark jobs"),
            jobList({ types: ["benchmark"], empty: "No benchmark yet.", selected: () => state.selectedBenchmarkJob,
              onView: (job) => { state.selectedBenchmarkJob = job.id; refreshJobLists(); showResult(); } })),
          result);
        showResult();
      },
      onJobsFinished(finished) {
        if (finished.some((job) => job.type === "benchmark" && (job.id === state.selectedBenchmarkJob || !state.selectedBenchmarkJob))) showResult();
      },
    };
  }

  function benchmarkResult(job) {
    const r = job.result || {};
    const latency = r.latency_ms || {};
    const params = job.params || {};
    const panel = h("div", { class: "panel", id: "bench-result-panel", dataset: { jobId: job.id } },
      h("h2", {}, `Result of benchmark #${job.id}: ${modelLabel(job.model_id)}`),
      h("div", { class: "muted small", style: "margin-bottom: 8px" },
        `${params.shape || "model shape"} · ${params.threads || "?"} threads · batch ${params.batch || 1} · ${params.streams || 1} stream(s) · ${params.time_s || "?"} s`),
      h("div", { class: "cards" },
        card("Latency (median)", fmtMs(latency.median), `p90 ${fmtMs(latency.p90)} · min ${fmtMs(latency.min)}`, { id: "bench-latency", dataset: { value: latency.median } }),
        card("Throughput", fmtFps(r.throughput_fps), "", { id: "bench-throughput", dataset: { value: r.throughput_fps } }),
        r.best ? card("Best grid point", fmtFps(r.best.throughput_fps), `batch ${r.best.batch} × ${r.best.streams} stream(s)`, { id: "bench-best" }) : null));

    const grid = Array.isArray(r.grid) ? r.grid : [];
    if (grid.length) {
      const canvas = h("canvas", { id: "grid-chart" });
      panel.append(h("div", { class: "grid2" },
        h("div", {}, h("h3", {}, "Throughput over batch × streams"), h("div", { class: "chart-box" }, canvas)),
        h("div", {}, h("h3", {}, "Grid"), h("table", { id: "grid-table" },
          h("thead", {}, h("tr", {}, ["Batch", "Streams", "Latency", "Throughput"].map((t) => h("th", { class: t === "Batch" || t === "Streams" ? "" : "num" }, t)))),
          h("tbody", {}, grid.map((point) => {
            const best = r.best && point.batch === r.best.batch && point.streams === r.best.streams;
            if (point.error) {
              return h("tr", {}, h("td", {}, point.batch), h("td", {}, point.streams), h("td", { colspan: 2, class: "job-error" }, point.error));
            }
            return h("tr", { class: best ? "selected" : "" }, h("td", {}, point.batch), h("td", {}, point.streams),
              h("td", { class: "num" }, fmtMs(point.latency_ms)), h("td", { class: "num" }, fmtFps(point.throughput_fps), best ? " ★" : ""));
          }))))));
      const batches = Array.from(new Set(grid.map((point) => point.batch))).sort((a, b) => a - b);
      const streamsValues = Array.from(new Set(grid.map((point) => point.streams))).sort((a, b) => a - b);
      const palette = [COLORS.accent, COLORS.fp32, COLORS.int8, "#8b5cc7", "#5d6778", "#d35400"];
      const datasets = streamsValues.map((streams, index) => {
        const points = batches.map((batchValue) => grid.find((point) => point.batch === batchValue && point.streams === streams));
        const isBest = (point) => point && r.best && point.batch === r.best.batch && point.streams === r.best.streams;
        return {
          label: `${streams} stream${streams > 1 ? "s" : ""}`,
          data: points.map((point) => (point ? point.throughput_fps : null)),
          borderColor: palette[index % palette.length],
          backgroundColor: points.map((point) => (isBest(point) ? COLORS.bad : palette[index % palette.length])),
          pointBorderColor: points.map((point) => (isBest(point) ? COLORS.bad : palette[index % palette.length])),
          pointBorderWidth: points.map((point) => (isBest(point) ? 3 : 1)),
          pointRadius: points.map((point) => (isBest(point) ? 11 : 4)),
          pointStyle: points.map((point) => (isBest(point) ? "star" : "circle")),
          borderWidth: 2,
        };
      });
      setChart("grid", canvas, {
        type: "line",
        data: { labels: batches.map((b) => `batch ${b}`), datasets },
        options: {
          plugins: { title: { display: !!r.best, text: r.best ? `best: batch ${r.best.batch} × ${r.best.streams} stream(s), ${fmtFps(r.best.throughput_fps)}` : "" } },
          scales: { y: { beginAtZero: true, title: { display: true, text: "throughput (fps)" } } },
        },
      });
    }

    const profile = Array.isArray(r.profile) ? r.profile.slice().sort((a, b) => (b.time_ms || 0) - (a.time_ms || 0)) : [];
    if (profile.length) {
      const shares = profile.map((row) => row.share);
      const byOp = new Map();
      for (const row of profile) byOp.set(row.op_type, (byOp.get(row.op_type) || 0) + (row.time_ms || 0));
      const total = profile.reduce((sum, row) => sum + (row.time_ms || 0), 0);
      panel.append(h("h3", {}, `Per-layer profile (${profile.length} nodes, ${fmtMs(total)} per run; by op type: `,
        Array.from(byOp.entries()).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([op, ms]) => `${op} ${total ? ((100 * ms) / total).toFixed(0) : 0}%`).join(", "), ")"),
      h("div", { class: "table-scroll" }, h("table", { id: "profile-table" },
        h("thead", {}, h("tr", {}, ["Node", "Op", "Kernel", "Precision", "Time", "Share"].map((t) => h("th", { class: t === "Time" || t === "Share" ? "num" : "" }, t)))),
        h("tbody", {}, profile.map((row) => {
          const fraction = shareFraction(row.share, shares);
          return h("tr", {},
            h("td", { class: "mono" }, row.node), h("td", {}, row.op_type), h("td", { class: "small" }, row.kernel || ""),
            h("td", {}, h("span", { class: `badge ${row.precision}` }, row.precision || "")),
            h("td", { class: "num" }, fmtMs(row.time_ms)),
            h("td", { class: "num nowrap" }, h("span", { class: "share-bar", style: `width: ${Math.round(fraction * 80)}px` }), (fraction * 100).toFixed(1) + " %"));
        })))));
    } else if (params.profile) {
      panel.append(h("div", { class: "muted small" }, "No per-layer profile in this result."));
    }
    return panel;
  }

  // ------------------------------------------------------------------------------------------------
  // Optimize tab

  function OptimizeTab(root, modelId) {
    const project = state.project;
    const metric = defaultMetric();
    const saved = store.get(`optimize.${project.id}`, {});
    const select = modelSelect("opt-model", modelId && modelById(modelId) ? modelId : project.model_id, (model) => model.precision === "fp32");
    let algorithm = saved.algorithm || "default";
    const preset = h("select", { id: "opt-preset" }, ["performance", "mixed"].map((value) => h("option", { value, selected: value === (saved.preset || "performance") }, value)));
    const subset = numberInput("opt-subset", saved.subset || 300, { min: 1, max: 100000 });
    const range = h("select", { id: "opt-range" }, RANGE_ESTIMATORS.map((value) => h("option", { value, selected: value === (saved.range_estimator || "") }, value || "(the preset's)")));
    const ignoredText = h("textarea", { id: "opt-ignored", rows: 4, placeholder: "one node name or op type per line" });
    ignoredText.value = ignored.list(project.id).join("\n");
    ignoredText.addEventListener("input", () => ignored.set(project.id, ignoredText.value.split("\n").map((line) => line.trim())));

    const metricSelect = h("select", { id: "opt-metric" }, METRICS.map((value) => h("option", { value, selected: value === metric.metric }, value)));
    const dict = textInput("opt-dict", metric.dict || "", { placeholder: "/path/ppocr_keys_v1.txt (CTC metrics)", size: 36 });
    const classes = textInput("opt-classes", metric.classes || "", { placeholder: "0,180", size: 12 });
    const maxDrop = numberInput("opt-max-drop", saved.max_drop !== undefined ? saved.max_drop : 0.01, { min: 0, max: 1, step: 0.001 });
    const dropType = h("select", { id: "opt-drop-type" }, ["absolute", "relative"].map((value) => h("option", { value, selected: value === (saved.drop_type || "absolute") }, value)));
    const evalDataset = datasetSelect("opt-eval-dataset", saved.eval_dataset_id || project.dataset_id);
    const rankingSubset = numberInput("opt-ranking-subset", saved.ranking_subset || 300, { min: 1, max: 100000 });
    const maxIterations = numberInput("opt-max-iterations", saved.max_iterations || 0, { min: 0, max: 10000 });
    const tune = h("input", { type: "checkbox", id: "opt-tune", checked: !!saved.tune_hyperparams });
    const aaFields = h("fieldset", { id: "aa-fields", hidden: algorithm !== "accuracy-aware" }, h("legend", {}, "AccuracyAware"),
      h("div", { class: "fields" }, field("Metric", metricSelect), field("Dictionary", dict), field("Classes", classes, "class names, e.g. 0,180"),
        field("Max drop", maxDrop, "0.01 = 1 point (absolute)"), field("Drop type", dropType), field("Evaluation dataset", evalDataset, "labeled, distinct from calibration")),
      h("div", { class: "fields" }, field("Ranking subset", rankingSubset, "samples used to rank the groups"),
        field("Max iterations", maxIterations, "groups tried at most; 0: no limit"),
        h("label", { class: "check" }, tune, "first try the other presets and range estimators")));

    const submit = h("button", { class: "primary", id: "opt-run" }, "Start optimization");
    const status = h("div", { class: "form-status", id: "opt-status" });
    const errorElement = h("div", { class: "form-error", id: "opt-error" });
    const summary = h("div", { id: "opt-summary" });

    submit.addEventListener("click", () => guard(async () => {
      const params = {
        algorithm, preset: preset.value, subset: Number(subset.value),
        ignored: ignoredText.value.split("\n").map((line) => line.trim()).filter(Boolean),
      };
      if (!Number.isInteger(params.subset) || params.subset < 1) throw new Error("Subset size: a positive integer");
      if (range.value) params.range_estimator = range.value;
      if (algorithm === "accuracy-aware") {
        Object.assign(params, {
          metric: metricSelect.value, max_drop: Number(maxDrop.value), drop_type: dropType.value,
          eval_dataset_id: Number(evalDataset.value), ranking_subset: Number(rankingSubset.value),
          max_iterations: Number(maxIterations.value), tune_hyperparams: tune.checked,
        });
        if (!Number.isInteger(params.ranking_subset) || params.ranking_subset < 1) throw new Error("Ranking subset: a positive integer");
        if (!Number.isInteger(params.max_iterations) || params.max_iterations < 0) throw new Error("Max iterations: an integer >= 0");
        if (dict.value.trim()) params.dict = dict.value.trim();
        if (classes.value.trim()) params.classes = classes.value.trim();
        if (metricSelect.value.startsWith("ctc-") && !params.dict) throw new Error(`Dictionary: ${metricSelect.value} needs the dictionary file`);
        if (!(params.max_drop >= 0)) throw new Error("Max drop: a number >= 0");
        store.set(`metric.${project.id}`, { metric: params.metric, dict: params.dict || "", classes: params.classes || "" });
      }
      store.set(`optimize.${project.id}`, params);
      const job = await submitJob("quantize", Number(select.value), params);
      status.textContent = `Job #${job.id} queued: it runs in the background; more jobs can be queued.`;
      status.dataset.jobId = job.id;
    }, errorElement));

    function showSummary() {
      summary.textContent = "";
      const job = state.jobs.find((candidate) => candidate.type === "quantize" && candidate.status === "done" && candidate.result);
      if (!job) return;
      const r = job.result;
      const s = r.summary || {};
      const fp32 = s.fp32 || [];
      summary.append(h("div", { class: "panel", id: "quantize-summary" },
        h("h2", {}, `Latest quantization: job #${job.id} → ${modelLabel(r.model_id)}`),
        h("div", { class: "cards" },
          card("Quantized nodes", String((s.quantized || []).length)),
          card("Kept in FP32", String(fp32.length)),
          card("Size", `${fmtBytes(s.size_before)} → ${fmtBytes(s.size_after)}`, isNumber(s.size_before) && s.size_after ? `${(s.size_before / s.size_after).toFixed(2)}× smaller` : ""),
          card("Time", isNumber(s.seconds) ? s.seconds.toFixed(1) + " s" : "—")),
        fp32.length ? h("div", { class: "table-scroll", style: "max-height: 240px" }, h("table", {},
          h("thead", {}, h("tr", {}, h("th", {}, "Kept in FP32"), h("th", {}, "Why"))),
          h("tbody", {}, fp32.map((row) => h("tr", {}, h("td", { class: "mono" }, row.node), h("td", {}, row.reason)))))) : null,
        h("div", { class: "actions" }, h("a", { class: "button", href: `#/project/${project.id}/compare` }, "Compare versions →"),
          h("a", { class: "button", href: `#/project/${project.id}/export` }, "Export →"))));
    }

    return {
      async render() {
        root.append(
          h("div", { class: "panel" },
            h("h2", {}, "Optimize"),
            h("div", { class: "fields" }, field("FP32 model", select)),
            radioGroup("algorithm", [["default", "DefaultQuantization"], ["accuracy-aware", "AccuracyAwareQuantization"]], algorithm, (value) => {
              algorithm = value;
              $("#aa-fields").hidden = value !== "accuracy-aware";
            }),
            h("fieldset", {}, h("legend", {}, "Quantization"),
              h("div", { class: "fields" }, field("Preset", preset, "performance: symmetric; mixed: asymmetric activations"),
                field("Subset size", subset, "calibration samples"), field("Range estimator", range)),
              h("div", { class: "field" }, h("label", { for: "opt-ignored" }, "Ignored nodes / op types"), ignoredText,
                h("span", { class: "hint" }, "Pick nodes in the Inspect tab (graph or table), or type names here."))),
            aaFields,
            h("div", { class: "actions" }, submit), status, errorElement),
          h("div", { class: "panel" }, h("h2", {}, "Jobs"), jobList({ types: [], empty: "No job yet." })),
          summary);
        showSummary();
      },
      onJobsFinished() { showSummary(); },
    };
  }

  // ------------------------------------------------------------------------------------------------
  // Compare tab

  function CompareTab(root) {
    const project = state.project;
    const metric = defaultMetric();
    const metricSelect = h("select", { id: "cmp-metric" }, METRICS.map((value) => h("option", { value, selected: value === metric.metric }, value)));
    const dict = textInput("cmp-dict", metric.dict || "", { placeholder: "/path/ppocr_keys_v1.txt (CTC metrics)", size: 32 });
    const classes = textInput("cmp-classes", metric.classes || "", { placeholder: "0,180", size: 10 });
    const dataset = datasetSelect("cmp-dataset", store.get(`cmpdataset.${project.id}`, project.dataset_id));
    const errorElement = h("div", { class: "form-error", id: "cmp-error" });
    const status = h("div", { class: "form-status", id: "cmp-status" });
    const content = h("div", { id: "compare-content" });

    function accuracyParams() {
      const params = { metric: metricSelect.value, dataset_id: Number(dataset.value) };
      if (dict.value.trim()) params.dict = dict.value.trim();
      if (classes.value.trim()) params.classes = classes.value.trim();
      if (params.metric.startsWith("ctc-") && !params.dict) throw new Error(`Dictionary: ${params.metric} needs the dictionary file`);
      store.set(`metric.${project.id}`, { metric: params.metric, dict: params.dict || "", classes: params.classes || "" });
      store.set(`cmpdataset.${project.id}`, params.dataset_id);
      return params;
    }
    function benchmarkParams() {
      const saved = lastBenchmarkParams();
      const params = { threads: saved.threads, batch: saved.batch, streams: saved.streams, time_s: saved.time_s, profile: false };
      if (saved.shape) params.shape = saved.shape;
      else if (store.get(`shape.${project.id}`, "")) params.shape = store.get(`shape.${project.id}`, "");
      return params;
    }
    async function measure(kind, models) {
      const ids = [];
      for (const model of models) {
        const job = kind === "accuracy" ? await submitJob("accuracy", model.id, accuracyParams()) : await submitJob("benchmark", model.id, benchmarkParams());
        ids.push(`#${job.id}`);
      }
      status.textContent = `Queued ${kind} job${ids.length > 1 ? "s" : ""} ${ids.join(", ")}; the table updates when they finish.`;
      status.dataset.jobIds = ids.map((id) => id.slice(1)).join(",");
    }

    async function load() {
      const data = await api("GET", `/api/projects/${project.id}/compare`);
      draw(data);
    }

    function draw(data) {
      content.textContent = "";
      const rows = data.rows || [];
      const table = h("table", { id: "compare-table" },
        h("thead", {}, h("tr", {}, ["Version", "Precision", "Size", "Latency", "Throughput", `Accuracy${data.metric ? ` (${data.metric})` : ""}`, "Drop", "Speedup", ""].map((t, i) =>
          h("th", { class: i >= 2 && i <= 7 ? "num" : "" }, t)))),
        h("tbody", {}, rows.map((row) => {
          const model = modelById(row.model_id) || { id: row.model_id, name: row.name, precision: row.precision };
          const cell = (col, value, text, extra) => h("td", Object.assign({ class: "num", dataset: { col, value: isNumber(value) ? String(value) : "" } }, extra || {}), text);
          return h("tr", { dataset: { modelId: row.model_id, precision: row.precision } },
            h("td", {}, row.name),
            h("td", {}, h("span", { class: `badge ${row.precision}` }, row.precision.toUpperCase())),
            cell("size", row.size_bytes, fmtBytes(row.size_bytes)),
            cell("latency", row.latency_ms, fmtMs(row.latency_ms)),
            cell("throughput", row.throughput_fps, fmtFps(row.throughput_fps)),
            cell("accuracy", row.accuracy, fmtMetric(row.accuracy)),
            cell("drop", row.drop, row.precision === "fp32" && row.model_id === project.model_id ? "reference" : fmtDrop(row.drop)),
            row.model_id === project.model_id ? cell("speedup", row.speedup, isNumber(row.speedup) ? "reference" : "—") :
              cell("speedup", row.speedup, fmtSpeedup(row.speedup), { class: "num " + (isNumber(row.speedup) ? (row.speedup > 1 ? "speedup-good" : "speedup-bad") : "") }),
            h("td", { class: "nowrap" },
              h("button", { class: "small", dataset: { action: "accuracy" }, onclick: () => guard(() => measure("accuracy", [model]), errorElement) }, "Accuracy"), " ",
              h("button", { class: "small", dataset: { action: "benchmark" }, onclick: () => guard(() => measure("benchmark", [model]), errorElement) }, "Benchmark")));
        })));
      content.append(h("div", { class: "panel" }, h("h2", {}, "FP32 vs INT8 versions"), rows.length ? table : h("div", { class: "empty" }, "No version yet."),
        h("div", { class: "hint" }, "Latency and throughput come from each version's latest finished benchmark, accuracy from its latest accuracy job; drop and speedup are relative to the FP32 model.")));

      const charts = [
        ["size", "Size (MiB)", (row) => (isNumber(row.size_bytes) ? row.size_bytes / (1024 * 1024) : null)],
        ["latency", "Latency (ms, median)", (row) => row.latency_ms],
        ["throughput", "Throughput (fps)", (row) => row.throughput_fps],
        ["accuracy", `Accuracy${data.metric ? ` (${data.metric})` : ""}`, (row) => row.accuracy],
      ];
      const chartPanel = h("div", { class: "grid4" });
      content.append(h("div", { class: "panel" }, h("h2", {}, "Charts"), chartPanel));
      for (const [key, title, value] of charts) {
        if (!rows.some((row) => isNumber(value(row)))) {
          chartPanel.append(h("div", {}, h("h3", {}, title), h("div", { class: "empty small", style: "height: 240px" },
            key === "accuracy" ? "No accuracy measured yet: use “Measure accuracy”." : "No benchmark yet: use “Benchmark”.")));
          continue;
        }
        const canvas = h("canvas", { id: `compare-chart-${key}`, class: "compare-chart" });
        chartPanel.append(h("div", {}, h("h3", {}, title), h("div", { class: "chart-box", style: "height: 240px" }, canvas)));
        setChart(`compare-${key}`, canvas, {
          type: "bar",
          data: {
            labels: rows.map((row) => `${row.precision.toUpperCase()} #${row.model_id}`),
            datasets: [{ label: title, data: rows.map(value), backgroundColor: rows.map((row) => (row.precision === "int8" ? COLORS.int8 : COLORS.fp32)) }],
          },
          options: {
            plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => rows[items[0].dataIndex].name } } },
            // Accuracy on its whole 0..1 range: a zoomed axis would make a 0.1 point drop look like a collapse.
            scales: { y: Object.assign({ beginAtZero: true }, key === "accuracy" && rows.every((row) => !isNumber(row.accuracy) || row.accuracy <= 1) ? { max: 1 } : {}) },
          },
        });
      }
      append(content, [accuracyAwarePanel()]);
    }

    // The iterations of every finished AccuracyAware job: drop vs the number of groups returned to FP32.
    function accuracyAwarePanel() {
      const jobs = state.jobs.filter((job) => job.type === "quantize" && job.status === "done" && job.result && job.result.report);
      if (jobs.length === 0) return null;
      const panel = h("div", { class: "panel", id: "aa-panel" }, h("h2", {}, "AccuracyAware iterations"));
      for (const job of jobs) {
        const report = job.result.report;
        const points = accuracyAwarePoints(report.iterations || []);
        const canvas = h("canvas", { id: `aa-chart-${job.id}` });
        const budget = isNumber(report.budget) ? report.budget : (job.params || {}).max_drop;
        panel.append(
          h("h3", {}, `Job #${job.id} → ${modelLabel(job.result.model_id)}: drop ${fmtDrop(report.drop)} with ${(report.fp32_groups || []).length} group(s) in FP32`,
            isNumber(report.group_count) ? ` of ${report.group_count}` : ""),
          report.message ? h("p", { class: report.budget_met === false ? "form-error" : "hint" }, report.message) : null,
          h("div", { class: "grid2" },
            h("div", { class: "chart-box" }, canvas),
            h("div", { class: "table-scroll", style: "max-height: 280px" }, h("table", { class: "aa-iterations" },
              h("thead", {}, h("tr", {}, ["#", "Step", "Group", "In FP32", "Metric", "Drop", "Kept"].map((t) => h("th", {}, t)))),
              h("tbody", {}, points.map((point, index) => h("tr", {},
                h("td", {}, index + 1), h("td", {}, point.kind), h("td", { class: "mono" }, point.iteration.group || "—"),
                h("td", { class: "num" }, point.x), h("td", { class: "num" }, fmtMetric(point.iteration.metric)),
                h("td", { class: "num" }, fmtDrop(point.y)), h("td", {}, point.kept ? "yes" : "no"))))))));
        const datasets = [
          { label: "kept", data: points.filter((p) => p.kept), borderColor: COLORS.accent, backgroundColor: COLORS.accent, showLine: true, pointRadius: 5 },
          { label: "undone", data: points.filter((p) => !p.kept), borderColor: COLORS.grey, backgroundColor: COLORS.grey, showLine: false, pointRadius: 4, pointStyle: "crossRot" },
        ];
        if (isNumber(budget)) {
          const maxX = Math.max(1, ...points.map((p) => p.x));
          datasets.push({ label: `budget (max drop ${budget})`, data: [{ x: 0, y: budget }, { x: maxX, y: budget }], borderColor: COLORS.bad, borderDash: [6, 4], pointRadius: 0, showLine: true });
        }
        setChart(`aa-${job.id}`, canvas, {
          type: "scatter",
          data: { datasets },
          options: {
            scales: { x: { title: { display: true, text: "groups in FP32" }, ticks: { precision: 0 } }, y: { title: { display: true, text: "drop (FP32 − INT8)" } } },
            plugins: { tooltip: { callbacks: { label: (ctx) => (ctx.raw.iteration ? `${ctx.raw.kind} ${ctx.raw.iteration.group || ""}: drop ${fmtDrop(ctx.raw.y)}` : ctx.dataset.label) } } },
          },
        });
      }
      return panel;
    }

    return {
      async render() {
        root.append(h("div", { class: "panel" },
          h("h2", {}, "Measure"),
          h("div", { class: "fields" }, field("Metric", metricSelect), field("Dictionary", dict), field("Classes", classes, "e.g. 0,180"), field("Dataset", dataset)),
          h("div", { class: "actions" },
            h("button", { class: "primary", id: "cmp-accuracy-all", onclick: () => guard(() => measure("accuracy", state.project.models), errorElement) }, "Measure accuracy of every version"),
            h("button", { id: "cmp-bench-all", onclick: () => guard(() => measure("benchmark", state.project.models), errorElement) }, "Benchmark every version"),
            h("span", { class: "hint" }, "benchmarks use the Benchmark tab's last settings")),
          status, errorElement),
        content,
        h("div", { class: "panel" }, h("h2", {}, "Accuracy and benchmark jobs"), jobList({ types: ["accuracy", "benchmark"], empty: "No measurement yet." })));
        await guard(load, errorElement);
      },
      async onJobsFinished() { await guard(load, errorElement); },
    };
  }

  // AccuracyAware iterations -> chart points {x: groups in FP32 of that candidate, y: drop, kept, kind}.
  // Kinds (src/quant/accuracy_aware.h): "default" (0 groups), "tune" (same groups), "revert" (one more
  // group in FP32), "requantize" (one group back to INT8); a candidate that was not kept leaves the
  // current count as it was. Entries without a kind are taken as reverts.
  function accuracyAwarePoints(iterations) {
    let current = 0;
    return iterations.map((iteration) => {
      const kind = iteration.kind || "revert";
      const x = kind === "revert" ? current + 1 : kind === "requantize" ? Math.max(0, current - 1) : kind === "default" ? 0 : current;
      const kept = iteration.kept === undefined ? true : !!iteration.kept;
      if (kept) current = x;
      return { x, y: iteration.drop, kept, kind, iteration };
    });
  }

  // ------------------------------------------------------------------------------------------------
  // Export tab

  function ExportTab(root) {
    const project = state.project;
    return {
      async render() {
        const models = state.project.models || [];
        const configs = h("div", { id: "configs" });
        root.append(
          h("div", { class: "panel" },
            h("h2", {}, "Model versions"),
            h("table", { id: "export-table" },
              h("thead", {}, h("tr", {}, ["Version", "Precision", "Size", "Created", "Downloads"].map((t) => h("th", { class: t === "Size" ? "num" : "" }, t)))),
              h("tbody", {}, models.map((model) => h("tr", { dataset: { modelId: model.id, precision: model.precision } },
                h("td", {}, model.name), h("td", {}, h("span", { class: `badge ${model.precision}` }, model.precision.toUpperCase())),
                h("td", { class: "num" }, fmtBytes(model.size_bytes)), h("td", { class: "nowrap" }, fmtTime(model.created_at)),
                h("td", { class: "nowrap" },
                  h("a", { class: "button small download-model", id: `download-model-${model.id}`, href: withToken(`/api/models/${model.id}/download`), download: true }, "Model (.onnx)"), " ",
                  model.precision === "int8" ? h("a", { class: "button small download-config", id: `download-config-${model.id}`, href: withToken(`/api/models/${model.id}/config`), download: true }, "Config (POT JSON)") : null)))))),
          h("div", { class: "panel" },
            h("h2", {}, "Report"),
            h("p", {}, "An HTML page with the comparison table and charts of this project."),
            h("a", { class: "button primary", id: "download-report", href: withToken(`/api/projects/${project.id}/report`), download: true }, "Download the HTML report")),
          configs);
        for (const model of models.filter((candidate) => candidate.precision === "int8")) {
          const pre = h("pre", { class: "json" }, "loading…");
          const job = state.jobs.find((candidate) => candidate.id === model.job_id);
          const command = job && job.result && job.result.command ? job.result.command :
            `octet quantize MODEL -o ${safeFileName(model.name, ".onnx")} --data DATA --config ${safeFileName(model.name, ".config.json")}`;
          configs.append(h("div", { class: "panel" }, h("h2", {}, `Config of ${model.name}`),
            h("p", { class: "hint" }, "Re-run it on the command line with the config file downloaded above: ", h("code", { class: "command" }, command)), pre));
          guard(async () => { pre.textContent = JSON.stringify(await api("GET", `/api/models/${model.id}/config`), null, 2); }, pre);
        }
      },
      onJobsFinished() {},
    };
  }

  function safeFileName(name, suffix) {
    const stem = String(name || "model").replace(/\.onnx\b/gi, "").replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "") || "model";
    return stem + suffix;
  }

  // ------------------------------------------------------------------------------------------------
  // Start

  window.addEventListener("hashchange", route);
  if (!window.Chart) showError("The chart library did not load (/vendor/chart.umd.js): charts are not drawn.");
  refreshHealth();
  setInterval(refreshHealth, HEALTH_MS);
  route();
  // For tests and the console: the page's state (read-only use).
  window.octetWorkbench = { state };
})();
