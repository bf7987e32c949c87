#!/bin/bash
# Runs once, on an empty data volume (the postgres image's /docker-entrypoint-initdb.d): the login
# role the three workers connect as. `drx db grant-worker --member drx_app` (the migrate service)
# then makes it a member of drx_worker, which may only read and add to audit_log. The owner
# (POSTGRES_USER) keeps the tables and runs the migrations; its password never reaches a worker.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set password="$DRX_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE drx_app LOGIN PASSWORD :'password';
SQL
