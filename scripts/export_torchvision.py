#!/usr/bin/python3
"""Exports torchvision ResNet-50 and MobileNetV2 to ONNX (opset 13) for octet's speed and fidelity
measurements.

No pretrained weights can be downloaded here, so the weights are torchvision's random
initialization with torch.manual_seed(0): fine for latency and for comparing two runtimes on the
same file, meaningless for accuracy. Each model has one input "input" of shape Nx3x224x224 (batch
dimension dynamic, named "batch") and one output "output" of shape Nx1000.

BatchNorm statistics are recalibrated before export: a freshly initialized network has running
mean 0 and variance 1 in every BatchNorm, which does not match its real activations, and in eval
mode MobileNetV2's outputs then shrink to ~1e-9 (ResNet-50's grow to ~25 and ignore the input).
Outputs that small make fidelity checks meaningless (everything quantizes to zero). So the
running statistics are set to the exact averages over a few seeded standard-normal batches (the
scale of ImageNet-normalized images), as if the network had been trained: activations keep a
healthy spread through every layer and outputs depend on the input. The weights are untouched.
The export is deterministic: the same torch/torchvision give byte-identical files.

Run through scripts/export_torchvision.sh, which installs python3-torch and python3-torchvision
from Debian when missing and uses Debian's /usr/bin/python3.
"""
import argparse
import pathlib

import onnx
import torch
import torchvision

OPSET = 13
SEED = 0
INPUT_SHAPE = (1, 3, 224, 224)
CALIBRATION_BATCHES = 4
CALIBRATION_BATCH_SIZE = 8
ARCHITECTURES = {
    "resnet50": torchvision.models.resnet50,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
}


def recalibrate_batchnorm(model):
    """Sets every BatchNorm's running mean/variance to its average over random input batches."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over all batches, not a moving one
    generator = torch.Generator().manual_seed(SEED + 1)
    model.train()
    with torch.no_grad():
        for _ in range(CALIBRATION_BATCHES):
            model(torch.randn((CALIBRATION_BATCH_SIZE,) + INPUT_SHAPE[1:], generator=generator))
    model.eval()


def export(name, out_dir):
    torch.manual_seed(SEED)
    model = ARCHITECTURES[name](weights=None)
    recalibrate_batchnorm(model)
    example = torch.randn(INPUT_SHAPE)
    path = out_dir / f"{name}.onnx"
    with torch.no_grad():
        torch.onnx.export(
            model,
            example,
            str(path),
            opset_version=OPSET,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            do_constant_folding=True,
        )
    onnx.checker.check_model(onnx.load(str(path)))
    print(f"export_torchvision: wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default="models/torchvision", type=pathlib.Path)
    parser.add_argument("--models", nargs="+", default=list(ARCHITECTURES), choices=list(ARCHITECTURES))
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in args.models:
        export(name, args.out_dir)


if __name__ == "__main__":
    main()
