#!/usr/bin/env bash
# Replay the Docker image's install and start steps without Docker, in a fresh virtual environment:
#   1. copy the build context as .dockerignore leaves it (so a file the app needs but the image
#      lacks shows up here),
#   2. run the Dockerfile's `pip install` line(s) verbatim in a new venv, in a folder holding only
#      requirements.txt (as the requirements layer does),
#   3. start the Dockerfile's CMD with its ENV (GRADIO_SERVER_NAME=127.0.0.1 and a free port instead),
#   4. run its HEALTHCHECK command until it passes (at most HEALTH_TIMEOUT seconds, 180 by default),
#   then stop the app and print the two times.
# By hand, not in CI: it installs torch (1-3 minutes). Usage: deploy/check_image_steps.sh
# TORCH_INDEX stands for `--build-arg TORCH_INDEX=...`; it is empty here (PyPI and the local wheel
# mirror only) because download.pytorch.org is not reachable from the project's machines.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3.11}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-180}
export TORCH_INDEX=${TORCH_INDEX-}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/llada-image.XXXXXX")
APP_PID=""
cleanup() {
  if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then kill "$APP_PID"; wait "$APP_PID" 2>/dev/null || true; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$TMP"; else echo "kept $TMP"; fi
}
trap cleanup EXIT
now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }
dockerfile() { python3 "$ROOT/deploy/dockerfile.py" "$@" "$ROOT/Dockerfile"; }

echo "== build context -> $TMP/app"
python3 "$ROOT/deploy/dockerfile.py" context "$ROOT" "$TMP/app"
mkdir "$TMP/layer" && cp "$TMP/app/requirements.txt" "$TMP/layer/"

echo "== fresh venv ($($PYTHON --version))"
"$PYTHON" -m venv "$TMP/venv"
export PATH="$TMP/venv/bin:$PATH" VIRTUAL_ENV="$TMP/venv"
eval "$(dockerfile env)"
export GRADIO_SERVER_NAME=127.0.0.1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
GRADIO_SERVER_PORT=$(python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
export GRADIO_SERVER_PORT

echo "== install: $(dockerfile run)"
t0=$(now)
(cd "$TMP/layer" && while IFS= read -r line; do sh -ec "$line"; done < <(dockerfile run))
t1=$(now)
INSTALL_S=$(secs "$t0" "$t1")
echo "install: ${INSTALL_S} s; torch $(python -c 'import torch; print(torch.__version__)')"

CMD=$(dockerfile cmd)
HEALTH=$(dockerfile healthcheck)
echo "== start: $CMD (port $GRADIO_SERVER_PORT), health check: $HEALTH"
cd "$TMP/app"
t2=$(now)
eval "exec $CMD" >"$TMP/app.log" 2>&1 &
APP_PID=$!
until eval "$HEALTH"; do
  if ! kill -0 "$APP_PID" 2>/dev/null; then echo "the app exited:"; cat "$TMP/app.log"; exit 1; fi
  if [ "$(secs "$t2" "$(now)" | cut -d. -f1)" -ge "$HEALTH_TIMEOUT" ]; then
    echo "not healthy after ${HEALTH_TIMEOUT} s:"; cat "$TMP/app.log"; exit 1
  fi
  sleep 1
done
HEALTHY_S=$(secs "$t2" "$(now)")
grep -m1 "serving on" "$TMP/app.log" || true
echo "RESULT install_s=${INSTALL_S} healthy_s=${HEALTHY_S}"
