#!/usr/bin/env bash
# The main job, set up from scratch on a fresh machine: evaluate the shipped int8
# model on the committed real MNIST sample through LiteRT (no TensorFlow).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh edge
echo "== digitd evaluate: shipped model on 1,000 real MNIST test digits (tests/data/mnist-sample)"
.venv/bin/digitd -q evaluate --mnist-dir tests/data/mnist-sample --report-dir out/evaluate
echo "   confusion matrix and misread digits: out/evaluate/*.png"
