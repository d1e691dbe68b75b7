#!/usr/bin/env bash
# `make run`: services, schema, demo data, then `hacksync serve` in the
# foreground. Ctrl-C stops the service and everything this script started.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUN_DIR=${RUN_DIR:-$ROOT/.run}
BIN=$ROOT/.build/release/hacksync
LISTEN=${HACKSYNC_LISTEN:-${LISTEN:-127.0.0.1:8080}}

scripts/services.sh start
trap 'scripts/services.sh stop' EXIT
# shellcheck disable=SC1091
source "$RUN_DIR/env"

"$BIN" migrate
if [ "$(psql "$DATABASE_URL" -Atqc 'SELECT count(*) FROM users')" = 0 ]; then
    "$BIN" seed --users "${SEED_USERS:-500}" --projects "${SEED_PROJECTS:-800}" --hackathons "${SEED_HACKATHONS:-20}"
fi
# REPLICA=1: services.sh started a second cluster; mirror the platform tables into it.
if [ -n "${HACKSYNC_SUB_PG_DATA:-}" ]; then  # only the cluster services.sh started
    "$BIN" replica init --subscriber-url "$SUBSCRIBER_URL"
fi

cat <<INFO

  HackSync is starting.
    dashboard      http://$LISTEN/
    admin API      http://$LISTEN/api/status   (openapi.yaml)
    live events    ws://$LISTEN/ws   (watch them: .build/release/hacksync-watch --url ws://$LISTEN/ws)
    Postgres       $DATABASE_URL
    Elasticsearch  $ELASTICSEARCH_URL   (aliases: users, hackathons, projects)

  Try a change live, in another terminal:
    psql '$DATABASE_URL' -c "UPDATE users SET name = 'Ada Lovelace' WHERE id = 1"
    curl -s '$ELASTICSEARCH_URL/users/_doc/1?pretty'
    curl -s '$ELASTICSEARCH_URL/projects/_search?q=members.id:1&pretty'

  Ctrl-C stops everything.
${HACKSYNC_SUB_PG_DATA:+
  Replication subscriber: $SUBSCRIBER_URL
    .build/release/hacksync replica status --subscriber-url '$SUBSCRIBER_URL'
}
INFO
# Subscribers present this token to see private fields (e-mail).
export HACKSYNC_PRIVATE_TOKEN=${HACKSYNC_PRIVATE_TOKEN:-demo-token}
echo "  private fields: hacksync-watch --token $HACKSYNC_PRIVATE_TOKEN ..."
echo
"$BIN" serve --listen "$LISTEN"
