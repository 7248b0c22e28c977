#!/usr/bin/env bash
# Render's build step for the worker: install only. The web service's build
# applies migrations, once per deploy.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --upgrade pip
python -m pip install --quiet -r requirements.txt
