#!/usr/bin/env bash
# Models whose weights live in an external data file (ONNX's >2 GB mechanism): octet loads them,
# computes the right result, and refuses locations that leave the model's folder.
#   tests/cli/test_external_data.sh [BUILD_DIR]
set -u
build_dir=${1:-build}
octet="$build_dir/bin/octet"
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
result() {
  if [[ $1 == 0 ]]; then passed=$((passed + 1)); echo "PASS $2"; else failed=$((failed + 1)); echo "FAIL $2"; fi
}

"$python" - "$work" <<'PY'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
work = sys.argv[1]
rng = np.random.RandomState(0)
w = rng.rand(6, 5).astype(np.float32)
x = rng.rand(2, 6).astype(np.float32)
graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "external",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])],
                          [numpy_helper.from_array(w, "w")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.save_model(model, f"{work}/good.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                location="good.weights", size_threshold=0)
np.save(f"{work}/x.npy", x)
np.save(f"{work}/expected.npy", x @ w)
escaping = onnx.load(f"{work}/good.onnx", load_external_data=False)
for entry in escaping.graph.initializer[0].external_data:
    if entry.key == "location":
        entry.value = "../outside.weights"
onnx.save(escaping, f"{work}/escaping.onnx")
PY

"$octet" run "$work/good.onnx" --input "x=$work/x.npy" --output-dir "$work/out" >/dev/null 2>"$work/err"
status=$?
"$python" -c "
import numpy as np, sys
a = np.load('$work/out/y.npy'); e = np.load('$work/expected.npy')
sys.exit(0 if np.allclose(a, e, atol=1e-5) else 1)" 2>/dev/null
result $((status | $?)) "weights from an external data file give x @ w"

"$octet" run "$work/escaping.onnx" --input "x=$work/x.npy" --output-dir "$work/out2" >/dev/null 2>"$work/err"
status=$?
grep -q "leaves the model's folder" "$work/err"
result $(( (status == 1 ? 0 : 1) | $? )) "an external location outside the model's folder is refused: $(cat "$work/err")"

echo "$passed passed, $failed failed"
((failed == 0))
