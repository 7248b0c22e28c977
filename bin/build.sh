#!/usr/bin/env bash
# Render's build step for the web service (and the production rehearsal test):
# install, static files, schema. The schema step takes the migration lock, so it
# never races another deploy step or POST /api/v1/migrate/.
set -euo pipefail
cd "$(dirname "$0")/.."

./bin/install.sh
python manage.py collectstatic --no-input --verbosity 0
python manage.py migrate_locked
