#!/usr/bin/env bash
# Runs a real single-node Apache Kafka broker (KRaft) on 127.0.0.1 from the
# jars Maven Central serves — no Docker needed.
#   kafka.sh up      resolve jars (cached), format storage (first time), start, wait ready
#   kafka.sh down    stop the broker this script started (by pid file), never by name
#   kafka.sh status
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=${DRIFTD_LOCAL_DIR:-$repo/.local}/kafka
port=${DRIFTD_KAFKA_PORT:-19092}
ctrl_port=${DRIFTD_KAFKA_CONTROLLER_PORT:-19093}
# A second listener that requires SASL (PLAIN, SCRAM-SHA-256/512), so
# driftd's authentication is tested against the real broker. The PLAIN user
# is fixed here; SCRAM users are created by the tests (AlterUserScramCredentials
# over the open listener). Local test credentials, nothing else.
sasl_port=${DRIFTD_KAFKA_SASL_PORT:-19094}
# And one that requires TLS with a client certificate, from a throwaway CA
# the probe writes to $state/tls (ca.pem, client.pem, client-key.pem).
tls_port=${DRIFTD_KAFKA_TLS_PORT:-19095}
pidfile=$state/kafka.pid
libs=$state/libs
probe=${DRIFTD_PROBE:-$repo/.local/bin/probe}
name=kafka
probe_kind=kafka
start_timeout=${DRIFTD_KAFKA_START_TIMEOUT:-120}
logs=("$state/logs/server.log" "$state/logs/stdout.log")

# shellcheck source=service.sh
source "$here/service.sh"

resolve_jars() {
	# The pom's checksum names the resolved set, so a changed pom re-resolves.
	local stamp="$libs/.pom-$(sha256sum "$here/kafka/pom.xml" | cut -c1-16)"
	[[ -f $stamp ]] && return
	command -v mvn >/dev/null || apt_install maven
	log "resolving broker jars with Maven (first run only)"
	rm -rf "$libs" && mkdir -p "$libs"
	mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$libs" >"$state/mvn.log" 2>&1 ||
		{ log "maven failed, see $state/mvn.log"; tail -20 "$state/mvn.log" >&2; exit 1; }
	touch "$stamp"
}

write_config() {
	mkdir -p "$state/data" "$state/logs"
	"$probe" tls-certs "$state/tls"
	cat >"$state/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl_port
listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl_port,SSL://127.0.0.1:$tls_port,CONTROLLER://127.0.0.1:$ctrl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SASL_PLAINTEXT://127.0.0.1:$sasl_port,SSL://127.0.0.1:$tls_port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL
listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location=$state/tls/server.pem
listener.name.ssl.ssl.truststore.type=PEM
listener.name.ssl.ssl.truststore.location=$state/tls/ca.pem
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_driftd-plain="plain-test-secret";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$state/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=8388608
auto.create.topics.enable=false
PROPS
	cat >"$state/log4j2.properties" <<'PROPS'
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
PROPS
}

classpath() { printf '%s/*' "$libs"; }

up() {
	if running; then
		# A broker started with an older server.properties (before the
		# SASL listener, say) is restarted, so `make test` gets the
		# listeners it expects.
		local old
		old=$(cat "$state/server.properties" 2>/dev/null || true)
		write_config
		if [[ $old == "$(cat "$state/server.properties")" ]]; then
			log "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
			wait_ready
			return
		fi
		log "configuration changed; restarting"
		down
	fi
	refuse_foreign
	command -v java >/dev/null || apt_install openjdk-17-jre-headless
	resolve_jars
	write_config
	if [[ ! -f $state/data/meta.properties ]]; then
		local id
		id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
		log "formatting storage (cluster id $id)"
		java -cp "$(classpath)" -Dlog4j2.configurationFile="$state/log4j2.properties" \
			-Dkafka.logs.dir="$state/logs" kafka.tools.StorageTool format \
			-t "$id" -c "$state/server.properties" >"$state/logs/format.log" 2>&1 ||
			{ log "storage format failed, see $state/logs/format.log"; cat "$state/logs/format.log" >&2; exit 1; }
	fi
	log "starting broker on 127.0.0.1:$port"
	# setsid: the broker outlives the make target that started it; the pid file is how we stop it.
	setsid java -Xms256m -Xmx${DRIFTD_KAFKA_HEAP:-768m} -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError \
		-Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$state/log4j2.properties" -Dkafka.logs.dir="$state/logs" \
		-cp "$(classpath)" kafka.Kafka "$state/server.properties" \
		>"$state/logs/stdout.log" 2>&1 </dev/null &
	echo $! >"$pidfile"
	wait_ready
}

dispatch "$@"
