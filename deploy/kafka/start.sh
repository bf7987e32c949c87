#!/bin/bash
# The Compose broker's command: write server.properties from the environment, format the log
# directory on first start with the SCRAM users, then run Kafka. It replaces the image's own
# start script, which formats without SCRAM users and expects JKS files for TLS.
#
# Listeners: CLIENT (SASL_SSL, SCRAM-SHA-512) on :9092 for everyone, the broker included;
# CONTROLLER (SASL_PLAINTEXT, PLAIN) on 127.0.0.1:9093, reachable only inside this container,
# because KRaft's controller cannot use SCRAM (its credentials live in the metadata it serves).
# Only the broker's own principal, drx-broker, is a super user; everyone else needs an ACL
# (drx topics create writes them), and no ACL means no access.
set -euo pipefail

need() { [ -n "${!1:-}" ] || { echo "start.sh: $1 is not set (deploy/.env)" >&2; exit 2; }; }
for var in CLUSTER_ID KAFKA_BROKER_PASSWORD DRX_KAFKA_INGEST_PASSWORD DRX_KAFKA_MATCHING_PASSWORD \
    DRX_KAFKA_NOTIFY_PASSWORD DRX_KAFKA_OPERATOR_PASSWORD DRX_KAFKA_INT_EXAMPLE_PASSWORD; do
  need "$var"
done

TLS=/etc/kafka/tls
CONF=/tmp/kafka-config
umask 077
mkdir -p "$CONF"
KEYSTORE_PASSWORD=$(cat "$TLS/keystore-password")

cat > "$CONF/server.properties" <<PROPERTIES
node.id=1
process.roles=broker,controller
listeners=CLIENT://:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=CLIENT://kafka:9092
listener.security.protocol.map=CLIENT:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=CLIENT
controller.listener.names=CONTROLLER
controller.quorum.voters=1@127.0.0.1:9093
log.dirs=/var/lib/kafka/data

sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="drx-broker" password="${KAFKA_BROKER_PASSWORD}";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="drx-broker" password="${KAFKA_BROKER_PASSWORD}" user_drx-broker="${KAFKA_BROKER_PASSWORD}";

ssl.keystore.type=PKCS12
ssl.keystore.location=${TLS}/kafka.p12
ssl.keystore.password=${KEYSTORE_PASSWORD}
ssl.key.password=${KEYSTORE_PASSWORD}
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/ca/ca.crt
ssl.endpoint.identification.algorithm=https

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:drx-broker

# One broker: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# drx topics create provisions every topic; a typo must not create a new one.
auto.create.topics.enable=false
# Keep a week, so the rejected topic can be replayed after a fix (docs/operations.md).
log.retention.hours=168
PROPERTIES

# For the health check and for an operator's kafka-*.sh commands inside this container.
cat > "$CONF/admin.properties" <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="drx-broker" password="${KAFKA_BROKER_PASSWORD}";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/ca/ca.crt
PROPERTIES

scram() { echo "SCRAM-SHA-512=[name=$1,password=$2]"; }
# Only the first start formats (and so creates these users); later changes: docs/deploy.md.
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "$CLUSTER_ID" \
  --config "$CONF/server.properties" \
  --add-scram "$(scram drx-broker "$KAFKA_BROKER_PASSWORD")" \
  --add-scram "$(scram drx-ingest "$DRX_KAFKA_INGEST_PASSWORD")" \
  --add-scram "$(scram drx-matching "$DRX_KAFKA_MATCHING_PASSWORD")" \
  --add-scram "$(scram drx-notify "$DRX_KAFKA_NOTIFY_PASSWORD")" \
  --add-scram "$(scram drx-operator "$DRX_KAFKA_OPERATOR_PASSWORD")" \
  --add-scram "$(scram drx-int-example "$DRX_KAFKA_INT_EXAMPLE_PASSWORD")"

# The first drx topics create runs as drx-operator, which writes every ACL, its own included; but
# it needs some to begin with. Once the broker answers, drx-broker (the super user) grants the
# operator just enough to create topics and ACLs; drx topics create adds the rest. The health
# check waits for the marker, so the migrate service never starts before the grant.
PREFIX="${DRX_KAFKA_TOPIC_PREFIX:-drx.}"
acls() { /opt/kafka/bin/kafka-acls.sh --bootstrap-server kafka:9092 --command-config "$CONF/admin.properties" "$@"; }
grant_operator() {
  for _ in $(seq 60); do
    if acls --add --allow-principal User:drx-operator --operation Alter --operation Describe --cluster \
      && acls --add --allow-principal User:drx-operator --resource-pattern-type prefixed --topic "$PREFIX" \
        --operation Create --operation Describe --operation AlterConfigs --operation DescribeConfigs; then
      touch "$CONF/operator-acls"
      return 0
    fi
    sleep 5
  done
  echo "start.sh: could not grant drx-operator its first ACLs; see the broker log above" >&2
}

/opt/kafka/bin/kafka-server-start.sh "$CONF/server.properties" &
kafka=$!
trap 'kill -TERM "$kafka" 2>/dev/null' TERM INT
[ -f "$CONF/operator-acls" ] || grant_operator >/dev/null &
set +e
wait "$kafka"
status=$?
if kill -0 "$kafka" 2>/dev/null; then  # a signal interrupted the wait: let Kafka finish stopping
  wait "$kafka"
  status=$?
fi
exit "$status"
