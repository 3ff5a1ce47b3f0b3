#!/usr/bin/python3
"""API tests of `octet workbench` (tools/workbench/API.md) against a running server.

Starts the server on a temporary workspace with --port 0, reads the URL it prints, and checks:
the access token (API and page, query/cookie/bearer), health, models (path and upload), data sets
(file upload, zip upload), projects, benchmark / accuracy / DefaultQuantization jobs on the PP-OCR
direction classifier polled to the end, the FP32 vs INT8 comparison, the INT8 download run by
`octet eval` (same accuracy as the job), the exported POT config re-run by `octet quantize --config`
(byte-identical model), refused uploads and paths (zip entries with '..' or absolute paths, fake
files, paths that are relative, missing or of the wrong kind, traversal in URLs), a job with a bad
model failing while the server stays healthy, cancelling queued and running jobs, and SIGKILL
during a long job: after a restart the finished results are there and the job is failed.

Usage: tests/workbench/api_test.py [BUILD_DIR]   (default: build; run from anywhere)
       KEEP_WORK=1 keeps the temporary folder (server logs, workspaces) and prints its path.
Needs Debian's python3-numpy and python3-pil (for scripts/gen_ocr_data.py) and the PP-OCR models
(scripts/fetch_models.sh). Ends with "N passed, N failed"; exit status 1 when a check failed.
"""
import http.client
import io
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "build")
if not BUILD.is_absolute():
    BUILD = (pathlib.Path.cwd() / BUILD).resolve()
OCTET = BUILD / "bin" / "octet"
CLS_MODEL = REPO / "models/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx"
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
# 24 generated lines (half rotated by 180 degrees); calibration on 16 keeps the quantize job short.
SAMPLE_COUNT = 24
SUBSET = 16
JOB_TIMEOUT_S = 240
# The INT8 classifier's file is ~38% of the FP32 one (int8 weights, a few FP32 biases and scales).
MAX_INT8_SIZE_RATIO = 0.45

passed = 0
failed = 0


def report(ok, name, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {name}")
    else:
        failed += 1
        print(f"FAIL  {name}" + (f": {detail}" if detail else ""))
    return ok


class Server:
    """One `octet workbench` process on a workspace; requests go through http.client (raw paths)."""

    def __init__(self, workspace):
        self.workspace = workspace
        self.log = open(workspace.parent / f"server-{uuid.uuid4().hex[:6]}.log", "w")
        self.process = subprocess.Popen(
            [str(OCTET), "workbench", "--port", "0", "--workspace", str(workspace)],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.time() + 30
        self.base = None
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            match = re.search(r"open http://([0-9.]+):(\d+)/\?token=([0-9a-f]{32})$", line.strip())
            if match:
                self.host, self.port, self.token = match.group(1), int(match.group(2)), match.group(3)
                self.base = f"http://{self.host}:{self.port}"
                break
        if self.base is None:
            self.stop()
            raise RuntimeError("the server printed no URL (see the server log)")

    def request(self, method, path, body=None, headers=None, token="bearer"):
        """token: "bearer" (header), "query" (?token=), None, or a wrong string sent as bearer."""
        headers = dict(headers or {})
        if token == "bearer":
            headers["Authorization"] = f"Bearer {self.token}"
        elif token == "query":
            path += ("&" if "?" in path else "?") + "token=" + self.token
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, dict(response.getheaders()), data
        finally:
            connection.close()

    def json(self, method, path, body=None, **kwargs):
        status, headers, data = self.request(method, path, body, **kwargs)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = {"raw": data[:200].decode(errors="replace")}
        return status, parsed

    def upload(self, path, fields, files):
        """multipart/form-data: fields {name: value}, files [(field, filename, bytes)]."""
        boundary = uuid.uuid4().hex
        body = io.BytesIO()
        for name, value in fields.items():
            body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode())
        for field, filename, content in files:
            body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                       f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n".encode())
            body.write(content)
            body.write(b"\r\n")
        body.write(f"--{boundary}--\r\n".encode())
        status, headers, data = self.request(
            "POST", path, body.getvalue(), {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return status, json.loads(data) if data else None

    def wait_job(self, job_id, statuses=("done", "failed", "cancelled"), timeout=JOB_TIMEOUT_S):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, job = self.json("GET", f"/api/jobs/{job_id}")
            if status == 200 and job["status"] in statuses:
                return job
            time.sleep(0.2)
        raise RuntimeError(f"job {job_id} did not reach {statuses} in {timeout} s: {job}")

    def stop(self, kill=False):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def zip_bytes(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name), content)
    return buffer.getvalue()


def check_tokens(server):
    status, body = server.json("GET", "/api/health", token=None)
    report(status == 401 and body == {"error": "missing or wrong access token"}, "API without token: 401 JSON",
           f"{status} {body}")
    status, _ = server.json("GET", "/api/projects", token="0" * 32)
    report(status == 401, "API with a wrong bearer token: 401", status)
    status, _, data = server.request("GET", "/api/projects?token=" + "f" * 32, token=None)
    report(status == 401, "API with a wrong ?token=: 401", status)
    status, headers, data = server.request("GET", "/", token=None)
    report(status == 401 and b"access token" in data, "page without token: 401", status)
    status, _, _ = server.request("GET", "/vendor/chart.umd.js", token=None)
    report(status == 401, "static asset without token: 401", status)
    status, headers, data = server.request("GET", "/", token="query")
    cookie = headers.get("Set-Cookie", "")
    report(status == 200 and f"octet_token={server.token}" in cookie and "HttpOnly" in cookie
           and "SameSite=Strict" in cookie, "page with ?token=: 200 and an HttpOnly cookie", f"{status} {cookie}")
    status, _, _ = server.request("GET", "/api/health", headers={"Cookie": f"octet_token={server.token}"}, token=None)
    report(status == 200, "API with the cookie: 200", status)
    status, headers, data = server.request("GET", "/vendor/chart.umd.js")
    report(status == 200 and b"Chart" in data[:5000] and "javascript" in headers.get("Content-Type", ""),
           "chart.js served at /vendor/chart.umd.js", status)
    status, health = server.json("GET", "/api/health")
    report(status == 200 and health.get("status") == "ok" and "version" in health, "health", health)


def check_refused_paths(server, work, png_dir):
    cases = [
        ("model path relative", "/api/models", {"path": "models/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx"}),
        ("model path with ..", "/api/models", {"path": "../../etc/passwd"}),
        ("model path missing", "/api/models", {"path": str(work / "missing.onnx")}),
        ("model path is a folder", "/api/models", {"path": str(work)}),
        ("model path not ONNX (/etc/passwd)", "/api/models", {"path": "/etc/passwd"}),
        ("data set path relative", "/api/datasets", {"path": "data/ocr"}),
        ("data set path is a file", "/api/datasets", {"path": str(CLS_MODEL)}),
        ("data set path without samples (/etc)", "/api/datasets", {"path": "/etc"}),
        ("unknown key", "/api/models", {"path": str(CLS_MODEL), "extra": 1}),
    ]
    for name, route, body in cases:
        status, answer = server.json("POST", route, body)
        report(status == 400 and "error" in answer and "root:" not in json.dumps(answer), f"refused: {name}",
               f"{status} {answer}")

    # Traversal in URLs, raw (http.client sends the path as given) and percent-encoded.
    for path in ["/api/models/../../etc/passwd", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/vendor/../../../../../etc/passwd", "/api/models/1/../../../../etc/passwd", "/..%2f..%2fetc%2fpasswd"]:
        status, _, data = server.request("GET", path)
        report(status in (400, 404) and b"root:" not in data, f"refused URL {path}", f"{status} {data[:80]}")

    png = (png_dir / "0000.png").read_bytes()
    labels = (png_dir / "labels.tsv").read_bytes()
    outside = work / "escaped.png"
    uploads = [
        ("zip entry with ..", [("archive", "evil.zip", zip_bytes([("0000.png", png), ("../../escaped.png", png)]))]),
        ("zip entry with an absolute path", [("archive", "evil.zip", zip_bytes([(str(outside), png)]))]),
        ("zip entry of another type", [("archive", "bad.zip", zip_bytes([("run.sh", b"#!/bin/sh\n")]))]),
        ("zip entry with a fake PNG", [("archive", "bad.zip", zip_bytes([("0001.png", b"not a png")]))]),
        ("a fake PNG", [("files", "0001.png", b"GIF89a not a png")]),
        ("a fake .npy", [("files", "0001.npy", b"not numpy")]),
        ("a file name with ..", [("files", "../0001.png", png)]),
        ("an absolute file name", [("files", "/tmp/0001.png", png)]),
        ("an .exe", [("files", "setup.exe", b"MZ")]),
        ("labels only", [("files", "labels.tsv", labels)]),
        ("a .zip that is not a zip", [("archive", "data.zip", b"PK not really")]),
    ]
    for name, files in uploads:
        status, answer = server.upload("/api/datasets", {"name": "bad"}, files)
        report(status == 400 and "error" in (answer or {}), f"refused upload: {name}", f"{status} {answer}")
    report(not outside.exists() and not (work.parent / "escaped.png").exists(), "nothing written outside the workspace")
    leftovers = list((server.workspace / "uploads").iterdir())
    report(not leftovers, "refused uploads leave no temporary files", leftovers)
    # Size caps: a data set file above 64 MiB, a JSON body above 1 MiB (the answer arrives: no reset).
    big = b"\x93NUMPY" + b"\0" * (64 * 1024 * 1024)
    status, answer = server.upload("/api/datasets", {}, [("files", "big.npy", big)])
    report(status == 413 and "64 MiB limit" in answer.get("error", ""), "refused upload: a file above 64 MiB",
           f"{status} {answer}")
    status, answer = server.json("POST", "/api/projects", {"name": "x" * (2 * 1024 * 1024)})
    report(status == 413, "refused: a JSON body above 1 MiB", f"{status} {answer}")
    report(not list((server.workspace / "uploads").iterdir()), "oversize uploads leave no temporary files")
    status, answer = server.upload("/api/models", {}, [("file", "model.onnx", b"\x08\x07 this is not ONNX")])
    report(status == 400 and "not a valid ONNX model" in answer.get("error", ""), "refused upload: fake .onnx",
           f"{status} {answer}")
    status, answer = server.upload("/api/models", {}, [("file", "model.txt", CLS_MODEL.read_bytes()[:1000])])
    report(status == 400, "refused upload: a model without .onnx", f"{status} {answer}")


def run_and_wait(server, body, name):
    status, job = server.json("POST", "/api/jobs", body)
    if not report(status == 201 and job["status"] == "queued", f"{name}: queued", f"{status} {job}"):
        return None
    job = server.wait_job(job["id"])
    report(job["status"] == "done", f"{name}: done", job.get("error"))
    return job


def main():
    if not OCTET.exists():
        print(f"no octet binary at {OCTET}\n0 passed, 1 failed")
        return 1
    work = pathlib.Path(tempfile.mkdtemp(prefix="octet-workbench-api-"))
    servers = []
    try:
        png_dir = work / "cls_png"
        subprocess.run([PYTHON, str(REPO / "scripts/gen_ocr_data.py"), "--kind", "cls", "--count", str(SAMPLE_COUNT),
                        "--seed", "11", "--out", str(png_dir), "--format", "png"], check=True, stdout=subprocess.DEVNULL)
        workspace = work / "workspace"
        server = Server(workspace)
        servers.append(server)
        check_tokens(server)

        # Models: a path on the machine and an upload.
        status, fp32 = server.json("POST", "/api/models", {"path": str(CLS_MODEL), "name": "cls"})
        report(status == 201 and fp32["precision"] == "fp32" and fp32["size_bytes"] == CLS_MODEL.stat().st_size,
               "model from a path", f"{status} {fp32}")
        status, uploaded = server.upload("/api/models", {"name": "cls upload"},
                                         [("file", "cls.onnx", CLS_MODEL.read_bytes())])
        report(status == 201 and uploaded["precision"] == "fp32" and uploaded["name"] == "cls upload"
               and pathlib.Path(uploaded["path"]).resolve().is_relative_to(workspace.resolve()),
               "model upload stored in the workspace", f"{status} {uploaded}")

        # Data sets: files, a zip of a folder, a path.
        files = [("files", p.name, p.read_bytes()) for p in sorted(png_dir.iterdir())]
        status, dataset = server.upload("/api/datasets", {"name": "cls png"}, files)
        report(status == 201 and dataset["kind"] == "images" and dataset["sample_count"] == SAMPLE_COUNT
               and dataset["has_labels"], "data set upload (PNG files + labels.tsv)", f"{status} {dataset}")
        archive = zip_bytes([(f"cls_png/{p.name}", p.read_bytes()) for p in sorted(png_dir.glob("*.png"))[:8]]
                            + [("cls_png/labels.tsv", (png_dir / "labels.tsv").read_bytes()),
                               ("__MACOSX/._0000.png", b"junk"), ("cls_png/", b"")])
        status, zipped = server.upload("/api/datasets", {}, [("archive", "cls_png.zip", archive)])
        report(status == 201 and zipped["sample_count"] == 8 and zipped["name"] == "cls_png" and zipped["has_labels"],
               "data set upload (zip of a folder)", f"{status} {zipped}")
        status, by_path = server.json("POST", "/api/datasets", {"path": str(png_dir)})
        report(status == 201 and by_path["sample_count"] == SAMPLE_COUNT, "data set from a path", f"{status} {by_path}")
        check_refused_paths(server, work, png_dir)

        # Project.
        status, answer = server.json("POST", "/api/projects", {"model_id": fp32["id"], "dataset_id": dataset["id"],
                                                                "preprocess": "resize=oops"})
        report(status == 400, "project with a bad preprocess spec refused", f"{status} {answer}")
        status, project = server.json("POST", "/api/projects", {"name": "cls", "model_id": fp32["id"],
                                                                 "dataset_id": dataset["id"], "preprocess": "ppocr-cls"})
        report(status == 201 and project["models"][0]["id"] == fp32["id"], "project created", f"{status} {project}")
        pid = project["id"]

        # Inspect.
        status, inspected = server.json("GET", f"/api/models/{fp32['id']}/inspect")
        report(status == 200 and inspected["op_histogram"].get("Conv") == 53 and inspected["macs"] > 0
               and inspected["inputs"][0]["name"] == "x" and inspected["mac_input_shapes"] == {"x": [1, 3, 48, 192]}
               and all(node["precision"] != "int8" for node in inspected["nodes"])
               and any(node["reason"].startswith("FP32 model") for node in inspected["fp32_nodes"]),
               "inspect FP32 (shape from the data set, no int8 node)", str(inspected)[:300] if inspected else status)

        # Bad job requests are refused before they are queued.
        for name, body in [("unknown type", {"type": "train", "project_id": pid}),
                           ("unknown param", {"type": "benchmark", "project_id": pid, "params": {"speed": 1}}),
                           ("bad metric", {"type": "accuracy", "project_id": pid, "params": {"metric": "f1"}}),
                           ("bad preset", {"type": "quantize", "project_id": pid, "params": {"preset": "fast"}}),
                           ("model of another project", {"type": "benchmark", "project_id": pid,
                                                         "model_id": uploaded["id"]})]:
            status, answer = server.json("POST", "/api/jobs", body)
            report(status == 400 and "error" in answer, f"job refused: {name}", f"{status} {answer}")

        # FP32 benchmark (with a grid and the profile), accuracy, DefaultQuantization.
        bench_params = {"threads": 2, "time_s": 0.3, "grid": {"batches": [1, 2], "streams": [1, 2]}, "profile": True}
        bench = run_and_wait(server, {"type": "benchmark", "project_id": pid, "params": bench_params}, "FP32 benchmark")
        if bench:
            result = bench["result"]
            report(result["latency_ms"]["median"] > 0 and result["throughput_fps"] > 0 and len(result["grid"]) == 4
                   and result["best"]["throughput_fps"] == max(p["throughput_fps"] for p in result["grid"])
                   and len(result["profile"]) > 10 and abs(sum(p["share"] for p in result["profile"]) - 1) < 1e-6
                   and result["input_shapes"] == {"x": [1, 3, 48, 192]},
                   "benchmark result: latency, 2x2 grid with its best point, profile", json.dumps(result)[:300])
        accuracy_params = {"metric": "top1", "classes": "0,180"}
        fp32_accuracy = run_and_wait(server, {"type": "accuracy", "project_id": pid, "params": accuracy_params},
                                     "FP32 accuracy")
        quantize = run_and_wait(server, {"type": "quantize", "project_id": pid,
                                         "params": {"algorithm": "default", "preset": "performance", "subset": SUBSET}},
                                "DefaultQuantization")
        int8_id = quantize["result"]["model_id"] if quantize else None
        status, int8 = server.json("GET", f"/api/models/{int8_id}")
        report(status == 200 and int8["precision"] == "int8" and int8["parent_id"] == fp32["id"]
               and int8["project_id"] == pid and int8["job_id"] == quantize["id"]
               and quantize["result"]["summary"]["calibration_samples"] == SUBSET
               and len(quantize["result"]["summary"]["quantized"]) > 40,
               "quantize result: a new INT8 version of the project", f"{status} {int8}")
        int8_bench = run_and_wait(server, {"type": "benchmark", "project_id": pid, "model_id": int8_id,
                                           "params": {"threads": 2, "time_s": 0.5, "profile": True}}, "INT8 benchmark")
        if int8_bench:
            report(any(p["precision"] == "int8" for p in int8_bench["result"]["profile"]),
                   "INT8 profile has int8 kernels", json.dumps(int8_bench["result"]["profile"][:3]))
        int8_accuracy = run_and_wait(server, {"type": "accuracy", "project_id": pid, "model_id": int8_id,
                                              "params": accuracy_params}, "INT8 accuracy")
        status, inspected = server.json("GET", f"/api/models/{int8_id}/inspect")
        precisions = [node["precision"] for node in inspected["nodes"]] if status == 200 else []
        folded_notes = {node["note"] for node in inspected["nodes"] if node["precision"] == "folded"} if status == 200 else set()
        report(status == 200 and precisions.count("int8") > 40 and "fused" in precisions
               and folded_notes <= {"constant", "removed by graph optimization (folded or a no-op)"},
               "inspect INT8: int8, fused and folded nodes", f"{status} {precisions[:20]} {folded_notes}")

        # AccuracyAware with a budget DefaultQuantization already meets: nothing returned to FP32, and
        # the same model as the DefaultQuantization job (same calibration, same settings).
        aware = run_and_wait(server, {"type": "quantize", "project_id": pid, "params": {
            "algorithm": "accuracy-aware", "subset": SUBSET, "metric": "top1", "classes": "0,180", "max_drop": 0.5,
            "eval_dataset_id": zipped["id"], "ranking_subset": 8}}, "AccuracyAware")
        if aware:
            aware_report = aware["result"]["report"]
            status, _, aware_bytes = server.request("GET", f"/api/models/{aware['result']['model_id']}/download")
            _, _, default_bytes = server.request("GET", f"/api/models/{int8_id}/download")
            report(aware_report["budget_met"] and aware_report["fp32_groups"] == []
                   and [step["kind"] for step in aware_report["iterations"]] == ["default"]
                   and "ignored" not in aware["result"]["config"]["compression"]["algorithms"][0]["params"]
                   and aware_bytes == default_bytes,
                   "AccuracyAware: budget met at once, the DefaultQuantization model", json.dumps(aware_report)[:300])
        status, answer = server.json("POST", "/api/jobs", {"type": "quantize", "project_id": pid, "params": {
            "algorithm": "default", "max_drop": 0.1}})
        report(status == 400 and "accuracy-aware" in answer.get("error", ""), "job refused: AA param with default",
               f"{status} {answer}")

        # Comparison and report.
        status, compare = server.json("GET", f"/api/projects/{pid}/compare")
        rows = {row["model_id"]: row for row in compare["rows"]} if status == 200 else {}
        fp32_row, int8_row = rows.get(fp32["id"], {}), rows.get(int8_id, {})
        report(status == 200 and compare["metric"] == "top1" and fp32_row.get("speedup") == 1.0
               and int8_row.get("size_bytes", 1e9) < MAX_INT8_SIZE_RATIO * fp32_row.get("size_bytes", 0)
               and isinstance(int8_row.get("speedup"), float) and int8_row["speedup"] > 0
               and int8_row.get("accuracy") == int8_accuracy["result"]["value"]
               and abs(int8_row["drop"] - (fp32_accuracy["result"]["value"] - int8_row["accuracy"])) < 1e-12,
               "compare: INT8 row with size < 45%, speedup, accuracy and drop", json.dumps(compare)[:400])
        print(f"      (FP32 {fp32_row.get('latency_ms')} ms, INT8 {int8_row.get('latency_ms')} ms, "
              f"speedup {int8_row.get('speedup')}, top1 {fp32_row.get('accuracy')} -> {int8_row.get('accuracy')})")
        status, headers, data = server.request("GET", f"/api/projects/{pid}/report")
        report(status == 200 and "attachment" in headers.get("Content-Disposition", "") and b"<svg" in data
               and b"DefaultQuantization" in data, "HTML report with charts", status)

        # Download the INT8 model and run it with the CLI: the same accuracy as the job.
        status, headers, model_bytes = server.request("GET", f"/api/models/{int8_id}/download")
        downloaded = work / "downloaded_int8.onnx"
        downloaded.write_bytes(model_bytes)
        report(status == 200 and "attachment" in headers.get("Content-Disposition", "")
               and len(model_bytes) == int8["size_bytes"], "INT8 download", status)
        eval_json = work / "eval.json"
        run = subprocess.run([str(OCTET), "eval", str(downloaded), "--dataset", str(png_dir), "--metric", "top1",
                              "--classes", "0,180", "--preprocess", "ppocr-cls", "--json", str(eval_json)],
                             capture_output=True, text=True)
        cli_value = json.loads(eval_json.read_text())["value"] if run.returncode == 0 else None
        report(cli_value is not None and cli_value == int8_accuracy["result"]["value"],
               "octet eval on the download gives the job's accuracy", f"{cli_value} vs {int8_accuracy['result']}")

        # The exported config re-runs to the same bytes.
        status, headers, config = server.request("GET", f"/api/models/{int8_id}/config")
        config_path = work / "config.json"
        config_path.write_bytes(config)
        rerun = work / "rerun.onnx"
        run = subprocess.run([str(OCTET), "quantize", str(CLS_MODEL), "-o", str(rerun), "--data", dataset["path"],
                              "--preprocess", "ppocr-cls", "--config", str(config_path)], capture_output=True, text=True)
        report(status == 200 and run.returncode == 0 and rerun.read_bytes() == model_bytes,
               "config export: octet quantize --config gives a byte-identical model",
               f"{status} {run.returncode} {run.stderr.strip()[:200]}")
        status, _ = server.json("GET", f"/api/models/{fp32['id']}/config")
        report(status == 404, "no config for an FP32 model: 404", status)

        # A job with a bad model fails; the server stays healthy and runs the next job.
        broken_file = work / "broken.onnx"
        shutil.copy(CLS_MODEL, broken_file)
        status, broken = server.json("POST", "/api/models", {"path": str(broken_file), "name": "broken"})
        broken_file.write_bytes(b"\x00garbage, not a model any more")
        status, broken_project = server.json("POST", "/api/projects", {"model_id": broken["id"],
                                                                        "dataset_id": dataset["id"],
                                                                        "preprocess": "ppocr-cls"})
        status, job = server.json("POST", "/api/jobs", {"type": "benchmark", "project_id": broken_project["id"],
                                                        "params": {"time_s": 0.2, "profile": False}})
        job = server.wait_job(job["id"])
        report(job["status"] == "failed" and str(broken_file) in (job["error"] or ""),
               "a job on a broken model fails naming the file", f"{job['status']} {job['error']}")
        npy_dir = work / "bad_npy"
        npy_dir.mkdir()
        # Three channels expected: the classifier refuses this sample.
        subprocess.run([PYTHON, "-c", "import numpy, sys; numpy.save(sys.argv[1], numpy.zeros((1, 5, 48, 192), "
                        "numpy.float32))", str(npy_dir / "0000.npy")], check=True)
        status, bad_data = server.json("POST", "/api/datasets", {"path": str(npy_dir)})
        status, bad_project = server.json("POST", "/api/projects", {"model_id": fp32["id"],
                                                                     "dataset_id": bad_data["id"], "preprocess": ""})
        status, job = server.json("POST", "/api/jobs", {"type": "quantize", "project_id": bad_project["id"],
                                                        "params": {"subset": 4}})
        job = server.wait_job(job["id"])
        report(job["status"] == "failed" and job["error"], "a quantize job on bad data fails with its error",
               f"{job['status']} {job['error']}")
        status, health = server.json("GET", "/api/health")
        report(status == 200 and health["status"] == "ok" and health["jobs_running"] == 0,
               "server healthy after failed jobs", health)

        # Cancel: a running job and a queued one behind it; a finished job cannot be cancelled.
        long_params = {"threads": 2, "time_s": 0.5, "grid": {"batches": [1, 2, 4, 8], "streams": [1, 2]},
                       "profile": False}
        status, running = server.json("POST", "/api/jobs", {"type": "benchmark", "project_id": pid,
                                                            "params": long_params})
        status, queued = server.json("POST", "/api/jobs", {"type": "benchmark", "project_id": pid,
                                                           "params": long_params})
        server.wait_job(running["id"], ("running",), 60)
        status, cancelled = server.json("POST", f"/api/jobs/{queued['id']}/cancel")
        report(status == 200 and cancelled["status"] == "cancelled", "cancel a queued job", f"{status} {cancelled}")
        status, _ = server.json("POST", f"/api/jobs/{running['id']}/cancel")
        job = server.wait_job(running["id"])
        report(status == 200 and job["status"] == "cancelled", "cancel a running job", f"{status} {job['status']}")
        status, answer = server.json("POST", f"/api/jobs/{bench['id']}/cancel")
        report(status == 409, "cancel a finished job: 409", f"{status} {answer}")
        status, answer = server.json("GET", "/api/jobs/999999")
        report(status == 404, "unknown job: 404", status)

        # SIGKILL during a long job: after a restart the finished results are there, the job failed.
        status, long_job = server.json("POST", "/api/jobs", {"type": "benchmark", "project_id": pid,
                                                             "params": {"threads": 2, "time_s": 30, "profile": False}})
        server.wait_job(long_job["id"], ("running",), 60)
        server.stop(kill=True)
        server = Server(workspace)
        servers.append(server)
        status, job = server.json("GET", f"/api/jobs/{long_job['id']}")
        report(status == 200 and job["status"] == "failed" and job["error"] == "server stopped",
               "after SIGKILL and restart: the running job is failed", f"{status} {job}")
        status, compare_after = server.json("GET", f"/api/projects/{pid}/compare")
        report(status == 200 and compare_after["rows"] == compare["rows"], "after restart: the comparison is intact",
               json.dumps(compare_after)[:300])
        status, _, data = server.request("GET", f"/api/models/{int8_id}/download")
        report(status == 200 and data == model_bytes, "after restart: the INT8 model downloads unchanged", status)

        # Ctrl-C during a long job: a prompt clean exit, the job failed "server stopped".
        status, long_job = server.json("POST", "/api/jobs", {"type": "benchmark", "project_id": pid,
                                                             "params": {"threads": 2, "time_s": 60, "profile": False}})
        server.wait_job(long_job["id"], ("running",), 60)
        started = time.time()
        server.process.send_signal(signal.SIGINT)
        try:
            code = server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            code = None
        report(code == 0, "Ctrl-C mid-job: clean exit", f"exit {code} after {time.time() - started:.1f} s")
        server.stop()
        server = Server(workspace)
        servers.append(server)
        status, job = server.json("GET", f"/api/jobs/{long_job['id']}")
        report(status == 200 and job["status"] == "failed" and job["error"] == "server stopped",
               "after Ctrl-C: the running job is failed", f"{status} {job['status']} {job['error']}")
        after = run_and_wait(server, {"type": "accuracy", "project_id": pid, "model_id": int8_id,
                                      "params": accuracy_params}, "after restart: a new job runs")
        report(bool(after) and after["result"]["value"] == int8_accuracy["result"]["value"],
               "after restart: same accuracy", after and after["result"])
    except Exception as error:  # a broken step must not hide the summary line
        report(False, "unexpected error", repr(error))
    finally:
        for server in servers:
            server.stop()
        if os.environ.get("KEEP_WORK"):
            print(f"work folder kept (server logs, workspace): {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
