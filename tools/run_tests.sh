#!/usr/bin/env bash
# The README's test command: set up (or reuse) the environment, then run the suite.
#   bash tools/run_tests.sh [pytest args]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/setup_env.sh"
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  echo '[tests] installing Debian dataset-fashion-mnist (test data)' >&2
  if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get update -qq && $sudo apt-get install -y -qq dataset-fashion-mnist >/dev/null
fi
cd "$root"
exec "${TAAL_VENV:-$root/.venv}/bin/python" -m pytest -q "$@" tests
