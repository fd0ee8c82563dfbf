#!/usr/bin/env bash
# One prepared run for a lent GPU machine: the device-aware tests on CUDA, then the GPU benchmarks.
# Writes everything under ${OUT:-gpu-out}; meant for the device tool (about 8 minutes).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-out}
mkdir -p "$out"
python -m pip install --quiet --disable-pip-version-check -e ".[test]" > "$out/install.log" 2>&1
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
UNILOSS_TEST_DEVICE=cuda timeout 240 python -m pytest -q -n 4 -m "not slow" tests/engine tests/relaxations tests/metrics \
    tests/anchors tests/interpolators tests/traced/test_integration.py > "$out/tests-cuda.txt" 2>&1
echo "tests rc=$?" >> "$out/tests-cuda.txt"
# the gpu-marked tests: no host-device sync on both engine paths, a training step captured in a CUDA graph
timeout 120 python -m pytest -q -p no:xdist -m gpu tests/engine tests/metrics > "$out/tests-gpu-marked.txt" 2>&1
echo "gpu-marked tests rc=$?" >> "$out/tests-gpu-marked.txt"
timeout 120 python benchmarks/bench_step.py --device cuda --json "$out/step-cuda.json" > "$out/step-cuda.md" 2>&1
timeout 120 python benchmarks/bench_core.py --device cuda --repeats 5 --json "$out/core-cuda.json" \
    > "$out/core-cuda.md" 2>&1
timeout 150 python benchmarks/bench_floor.py --device cuda --repeats 30 --json "$out/floor-cuda.json" \
    > "$out/floor-cuda.md" 2>&1
tail -n 3 "$out"/*.txt "$out"/*.md
