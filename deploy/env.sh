#!/bin/sh
# Prints a deploy/.env with every password Compose needs, freshly generated (hex: nothing to
# URL-encode in the database URLs). Usage, once:  deploy/env.sh > deploy/.env && chmod 600 deploy/.env
set -eu
for name in POSTGRES_PASSWORD DRX_APP_DB_PASSWORD KAFKA_BROKER_PASSWORD DRX_KAFKA_INGEST_PASSWORD \
    DRX_KAFKA_MATCHING_PASSWORD DRX_KAFKA_NOTIFY_PASSWORD DRX_KAFKA_OPERATOR_PASSWORD \
    DRX_KAFKA_INT_EXAMPLE_PASSWORD; do
  echo "$name=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
done
# The key that seals webhook subscriptions' signing secrets: 32 random bytes in base64.
echo "DRX_NOTIFY_SECRETS_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
