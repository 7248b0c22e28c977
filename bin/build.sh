#!/usr/bin/env bash
# Render's build step (and the production rehearsal test): install, static files, schema.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --upgrade pip
python -m pip install --quiet -r requirements.txt
python manage.py collectstatic --no-input --verbosity 0
python manage.py migrate --no-input
