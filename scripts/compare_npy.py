#!/usr/bin/python3
"""Compares the same-named .npy files of two folders (e.g. octet's and ONNX Runtime's outputs).

  compare_npy.py A_DIR B_DIR [--min-cosine 0.99999] [--max-abs 1e-3]

Each pair is flattened and compared in float64: cosine similarity and the largest absolute
difference. Prints one line per file; exits 1 when a pair breaches a limit, differs in shape, or a
file exists in one folder only; exits 2 on a usage error. Two all-zero arrays have cosine 1.
"""
import argparse
import pathlib
import sys

import numpy as np


def compare(a, b):
    """(cosine, max_abs_diff) of two arrays of the same shape, in float64."""
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    if a.size == 0:
        return 1.0, 0.0
    max_abs = float(np.max(np.abs(a - b)))
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        cosine = 1.0 if max_abs == 0 else 0.0
    else:
        cosine = float(np.dot(a, b) / norms)
    return cosine, max_abs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a_dir", type=pathlib.Path)
    parser.add_argument("b_dir", type=pathlib.Path)
    parser.add_argument("--min-cosine", type=float, default=0.99999)
    parser.add_argument("--max-abs", type=float, default=1e-3)
    args = parser.parse_args()
    for folder in (args.a_dir, args.b_dir):
        if not folder.is_dir():
            parser.error(f"no directory {folder}")

    names_a = {p.name for p in args.a_dir.glob("*.npy")}
    names_b = {p.name for p in args.b_dir.glob("*.npy")}
    if not names_a and not names_b:
        print(f"compare_npy: FAIL: no .npy files in {args.a_dir} or {args.b_dir}")
        return 1

    failures = 0
    for name in sorted(names_a | names_b):
        if name not in names_a or name not in names_b:
            missing_from = args.a_dir if name not in names_a else args.b_dir
            print(f"{name}: FAIL missing from {missing_from}")
            failures += 1
            continue
        a = np.load(args.a_dir / name)
        b = np.load(args.b_dir / name)
        if a.shape != b.shape:
            print(f"{name}: FAIL shape {a.shape} vs {b.shape}")
            failures += 1
            continue
        cosine, max_abs = compare(a, b)
        ok = cosine >= args.min_cosine and max_abs <= args.max_abs  # NaN fails both
        failures += not ok
        print(f"{name}: {'ok  ' if ok else 'FAIL'} cosine {cosine:.9f} max_abs {max_abs:.3e} shape {a.shape}")

    total = len(names_a | names_b)
    print(f"compare_npy: {total - failures} of {total} within cosine >= {args.min_cosine}, max_abs <= {args.max_abs}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
