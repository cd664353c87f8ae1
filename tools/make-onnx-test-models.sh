#!/usr/bin/env bash
# Regenerates tests/data/onnx/ (small ONNX models and their numpy-computed expected outputs).
# Needs Debian's python3-onnx (onnx 1.12) and numpy for /usr/bin/python3; installs them if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null; then
    apt-get install -y python3-onnx python3-numpy
fi
/usr/bin/python3 tools/make-onnx-test-models.py tests/data/onnx
