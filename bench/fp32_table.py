#!/usr/bin/python3
"""Prints the markdown table of a bench/compare_fp32.sh run.

  fp32_table.py DIR [--threads N] [--time SEC] [--rounds R]

Reads DIR/models.tsv (name, input), DIR/<name>.<octet|ort>.<round>.json (octet bench / ort_run.js
bench output) and DIR/notes.tsv (skipped models, failures). Each cell is the median over rounds of
that figure. "ORT / octet" is ORT's median latency over octet's: above 1, octet is faster.
"""
import argparse
import json
import pathlib
import statistics


def load_runs(out_dir, name, runtime):
    runs = []
    for path in sorted(out_dir.glob(f"{name}.{runtime}.*.json")):
        runs.append(json.loads(path.read_text()))
    return runs


def median_of(runs, key):
    return statistics.median(run["latency_ms"][key] for run in runs)


def cell(runs):
    if not runs:
        return "-", None
    median = median_of(runs, "median")
    return f"{median:.2f} / {median_of(runs, 'p90'):.2f}", median


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=pathlib.Path)
    parser.add_argument("--threads", default="?")
    parser.add_argument("--time", default="?")
    parser.add_argument("--rounds", default="1")
    args = parser.parse_args()

    models_file = args.out_dir / "models.tsv"
    models = [line.split("\t") for line in models_file.read_text().splitlines() if line]
    runtime_name = "ONNX Runtime"
    print(f"FP32, {args.threads} threads, {args.time} s per run, median of {args.rounds} round(s); latency in ms.")
    print()
    print("| model | input | octet median / p90 | ORT median / p90 | ORT / octet |")
    print("| --- | --- | --- | --- | --- |")
    for name, shape in models:
        octet_runs = load_runs(args.out_dir, name, "octet")
        ort_runs = load_runs(args.out_dir, name, "ort")
        if ort_runs:
            runtime_name = ort_runs[0].get("runtime", runtime_name)
        octet_text, octet_median = cell(octet_runs)
        ort_text, ort_median = cell(ort_runs)
        ratio = f"{ort_median / octet_median:.2f}x" if octet_median and ort_median else "-"
        print(f"| {name} | {shape} | {octet_text} | {ort_text} | {ratio} |")
    print()
    print(f"ORT: {runtime_name}, intraOpNumThreads={args.threads}, graphOptimizationLevel all.")
    notes_file = args.out_dir / "notes.tsv"
    notes = notes_file.read_text().splitlines() if notes_file.exists() else []
    for note in notes:
        name, text = note.split("\t", 1)
        print(f"- {name}: {text}")


if __name__ == "__main__":
    main()
