#!/usr/bin/env bash
# The README's main command: active learning with TAAL on real aerial tree photos, CPU.
#   bash tools/demo.sh [extra al_train.py flags]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/setup_env.sh"
py=${TAAL_VENV:-$root/.venv}/bin/python
cd "$root"
"$py" tools/data/make_trees.py --out data/trees
exec "$py" tools/al_train.py configs/demo/trees_lite0_taal.py --work-dir work_dirs/demo_trees "$@"
