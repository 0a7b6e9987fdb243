#!/usr/bin/env bash
# Install Trackcast into a virtual environment. Used by the Makefile and the Dockerfile alike.
# Usage: scripts/install.sh VENV_DIR [EXTRAS]     e.g. scripts/install.sh .venv dev
set -euo pipefail
venv=${1:-.venv}
extras=${2:-}
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
pip="$venv/bin/pip"
"$pip" install --quiet --upgrade pip
# torch first and pinned: on Linux x86_64 these wheels install from local disk; letting pip resolve
# torch through ultralytics would pick another build and download gigabytes.
# TORCH_INDEX_URL (for example https://download.pytorch.org/whl/cpu in the CPU Docker image) picks a
# smaller build of the same release.
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "$pip" install --quiet --index-url "$TORCH_INDEX_URL" "torch==2.14.1" "torchvision==0.29.1"
elif [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
    "$pip" install --quiet "torch==2.14.1" "torchvision==0.29.1"
fi
spec="$here"
[ -n "$extras" ] && spec="$here[$extras]"
"$pip" install --quiet -e "$spec"
