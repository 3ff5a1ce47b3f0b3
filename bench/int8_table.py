#!/usr/bin/python3
"""Prints the markdown table of a bench/compare_int8.sh run.

  int8_table.py DIR [--threads N] [--time SEC] [--rounds R]

Reads DIR/models.tsv (name, input, FP32 file, INT8 file), DIR/<name>.<runtime>.<round>.json for
runtime in octet-int8, ort-fp32, ort-int8, octet-fp32, and DIR/notes.tsv. Cells are medians over
rounds of the median latency. Speedups are ratios of those medians (above 1: octet INT8 faster).
"""
import argparse
import json
import os
import pathlib
import statistics

RUNTIMES = ["octet-int8", "ort-fp32", "ort-int8", "octet-fp32"]


def median_latency(out_dir, name, runtime):
    runs = [json.loads(p.read_text()) for p in sorted(out_dir.glob(f"{name}.{runtime}.*.json"))]
    if not runs:
        return None
    return statistics.median(run["latency_ms"]["median"] for run in runs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=pathlib.Path)
    parser.add_argument("--threads", default="2")
    parser.add_argument("--time", default="10")
    parser.add_argument("--rounds", default="1")
    args = parser.parse_args()
    print(f"INT8 vs FP32, {args.threads} threads, batch 1, {args.time} s per run, median of {args.rounds} round(s)\n")
    print("| model | input | octet INT8 | ORT FP32 | speedup vs ORT FP32 | ORT on octet's INT8 | speedup vs ORT INT8 "
          "| octet FP32 | INT8 size |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for line in (args.out_dir / "models.tsv").read_text().splitlines():
        name, shape, fp32_file, int8_file = line.split("\t")
        latency = {runtime: median_latency(args.out_dir, name, runtime) for runtime in RUNTIMES}

        def ms(runtime):
            value = latency[runtime]
            return "failed" if value is None else f"{value:.2f} ms"

        def ratio(runtime):
            if latency[runtime] is None or latency["octet-int8"] is None:
                return "-"
            return f"{latency[runtime] / latency['octet-int8']:.2f}x"

        size = os.path.getsize(int8_file) / os.path.getsize(fp32_file)
        print(f"| {name} | {shape.split('=')[1]} | {ms('octet-int8')} | {ms('ort-fp32')} | {ratio('ort-fp32')} "
              f"| {ms('ort-int8')} | {ratio('ort-int8')} | {ms('octet-fp32')} | {100 * size:.1f}% |")
    notes = (args.out_dir / "notes.tsv").read_text().strip()
    if notes:
        print("\nNotes:")
        for note in notes.splitlines():
            print("- " + note.replace("\t", ": "))


if __name__ == "__main__":
    main()
