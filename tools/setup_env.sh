#!/usr/bin/env bash
# Create (or reuse) the virtual environment taal_det runs in, idempotently.
#   bash tools/setup_env.sh            -> .venv in the repository root
#   TAAL_VENV=/path bash tools/setup_env.sh
# Steps already done are skipped; pip's wheel cache makes a second venv fast.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${TAAL_VENV:-$root/.venv}
py=${PYTHON:-python3}
stamp=$venv/.taal_det_installed
reqs=("$root"/requirements/*.txt "$root/setup.py")
say() { printf '[setup] %s\n' "$*" >&2; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(cat "${reqs[@]}" | sha1sum)" ]; then
  say "environment up to date: $venv"
  exit 0
fi
[ -x "$venv/bin/python" ] || { say "creating virtual environment $venv"; "$py" -m venv "$venv"; }
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
quiet() { "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2); }  # local index noise
has() { "$venv/bin/python" -c "import $1" >/dev/null 2>&1; }

start=$(date +%s)
has torch || { say "installing torch 2.13.0"; quiet "${pip[@]}" torch==2.13.0; }
quiet "${pip[@]}" -r "$root/requirements/build.txt"
if ! "$venv/bin/python" -c "from mmcv.ops import nms, RoIAlign" >/dev/null 2>&1; then
  say "building mmcv 2.1.0 with compiled ops from source: about 20 min on 2 cores the first"
  say "time, about 1 min once pip's wheel cache holds the wheel (progress: $venv/mmcv_build.log)"
  ( while sleep 60; do say "  mmcv build still running ($(( ($(date +%s) - start) / 60 )) min)"; done ) &
  ticker=$!
  trap 'kill $ticker 2>/dev/null || true' EXIT
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "$venv/bin/python" -m pip install -v \
    --disable-pip-version-check --no-build-isolation mmcv==2.1.0 >"$venv/mmcv_build.log" 2>&1 \
    || { tail -30 "$venv/mmcv_build.log" >&2; say "mmcv build failed, full log: $venv/mmcv_build.log"; exit 1; }
  kill $ticker 2>/dev/null || true
  trap - EXIT
fi
say "installing mmengine, mmdet, data packages and test tools"
quiet "${pip[@]}" -r "$root/requirements/runtime.txt" -r "$root/requirements/tests.txt"
quiet "${pip[@]}" --no-deps -r "$root/requirements/data.txt"
quiet "${pip[@]}" --no-deps -e "$root"
"$venv/bin/python" -c "from mmcv.ops import nms, RoIAlign; import mmdet, taal_det" \
  || { say "import check failed"; exit 1; }
cat "${reqs[@]}" | sha1sum >"$stamp"
say "ready in $(( $(date +%s) - start )) s: $venv"
