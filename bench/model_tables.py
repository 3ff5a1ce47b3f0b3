#!/usr/bin/python3
"""Prints one table per model: file size, latency, throughput, accuracy and drop of the FP32 and INT8
files on octet and ONNX Runtime (the main job's summary).

  model_tables.py BENCH_DIR [--accuracy FILE.tsv]

BENCH_DIR is a bench/compare_int8.sh output folder (models.tsv and <name>.<runtime>.<round>.json).
--accuracy is the TSV scripts/quantize_models.sh writes (name, metric, samples, FP32 value, INT8 value,
how the INT8 model was made). Latency cells are medians over rounds of the median latency;
throughput is the median over rounds. Accuracy is octet's, on both files (the ONNX Runtime rows run
the same files; tests/e2e/quantize_ppocr.sh checks that both runtimes agree on the INT8 files).
"""
import argparse
import json
import os
import pathlib
import statistics

# runtime key in the file names -> (row label, which file it runs)
ROWS = [
    ("ort-fp32", "ONNX Runtime", "FP32"),
    ("octet-fp32", "octet", "FP32"),
    ("ort-int8", "ONNX Runtime", "INT8"),
    ("octet-int8", "octet", "INT8"),
]


def bench_runs(bench_dir, name, runtime):
    return [json.loads(p.read_text()) for p in sorted(bench_dir.glob(f"{name}.{runtime}.*.json"))]


def read_accuracy(path):
    accuracy = {}
    if path is None or not path.exists():
        return accuracy
    for line in path.read_text().splitlines():
        name, metric, samples, fp32, int8, method = line.split("\t")
        accuracy[name] = {"metric": metric, "samples": int(samples), "FP32": float(fp32), "INT8": float(int8),
                          "method": method}
    return accuracy


def megabytes(path):
    return f"{os.path.getsize(path) / 1e6:.2f} MB"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bench_dir", type=pathlib.Path)
    parser.add_argument("--accuracy", type=pathlib.Path)
    args = parser.parse_args()
    accuracy = read_accuracy(args.accuracy)
    for line in (args.bench_dir / "models.tsv").read_text().splitlines():
        name, shape, fp32_file, int8_file = line.split("\t")
        files = {"FP32": fp32_file, "INT8": int8_file}
        fp32_latency = None
        model_accuracy = accuracy.get(name)
        title = f"{name} ({shape.split('=')[1]}, batch 1)"
        if model_accuracy:
            title += (f": INT8 by {model_accuracy['method']}; {model_accuracy['metric']} on "
                      f"{model_accuracy['samples']} evaluation samples distinct from the calibration set")
        else:
            title += ": no labeled data (random weights), speed and size only"
        print(f"\n{title}\n")
        print("| runtime | file | size | latency median | latency p90 | throughput | speedup vs ORT FP32 | accuracy | drop (points) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for runtime, label, precision in ROWS:
            runs = bench_runs(args.bench_dir, name, runtime)
            if not runs:
                print(f"| {label} | {precision} | {megabytes(files[precision])} | failed | | | | | |")
                continue
            latency = statistics.median(run["latency_ms"]["median"] for run in runs)
            p90 = statistics.median(run["latency_ms"]["p90"] for run in runs)
            throughput = statistics.median(run["throughput_fps"] for run in runs)
            if runtime == "ort-fp32":
                fp32_latency = latency
            speedup = f"{fp32_latency / latency:.2f}x" if fp32_latency else "-"
            metric = drop = "-"
            if model_accuracy and label == "octet":
                metric = f"{model_accuracy[precision]:.4f}"
                drop = f"{100 * (model_accuracy['FP32'] - model_accuracy[precision]):+.2f}" if precision == "INT8" else "-"
            print(f"| {label} | {precision} | {megabytes(files[precision])} | {latency:.2f} ms | {p90:.2f} ms "
                  f"| {throughput:.1f} fps | {speedup} | {metric} | {drop} |")


if __name__ == "__main__":
    main()
