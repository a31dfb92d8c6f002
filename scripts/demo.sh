#!/usr/bin/env bash
# The main job, set up from scratch on a fresh machine: the digitd daemon reads a
# bundled video of real handwritten MNIST digits and publishes the readings over MQTT
# (an embedded broker, since the demo config names none), printing what arrives.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh edge,demo
digitd=.venv/bin/digitd
mkdir -p out

echo "== 1. the shipped int8 model on 1,000 real MNIST test digits (LiteRT, no TensorFlow)"
"$digitd" -q evaluate --mnist-dir tests/data/mnist-sample --report-dir out/evaluate
echo "   confusion matrix and misread digits: out/evaluate/*.png"

echo "== 2. digitd recognize on a frame of the bundled video"
.venv/bin/python - <<'PY'
import cv2
cap = cv2.VideoCapture("demo/digits.avi")
ok, frame = cap.read()
if ok:
    cv2.imwrite("out/frame.png", frame)
PY
"$digitd" -q recognize --annotate out/frame.annotated.png out/frame.png

echo "== 3. digitd run: the daemon on demo/digits.avi, embedded broker, every MQTT message shown"
"$digitd" run --config demo/demo.toml --exit-at-end --show-mqtt
