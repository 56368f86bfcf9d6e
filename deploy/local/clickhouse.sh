#!/usr/bin/env bash
# Runs a real ClickHouse server on 127.0.0.1 from Debian's clickhouse-server
# package, as a plain process with its own config and data under .local/ —
# not the system service.
#   clickhouse.sh up | down | status
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=${DRIFTD_LOCAL_DIR:-$repo/.local}/clickhouse
port=${DRIFTD_CLICKHOUSE_PORT:-19000}
http_port=${DRIFTD_CLICKHOUSE_HTTP_PORT:-18123}
interserver_port=${DRIFTD_CLICKHOUSE_INTERSERVER_PORT:-19009}
pidfile=$state/clickhouse.pid
server=/usr/sbin/clickhouse-server
probe=${DRIFTD_PROBE:-$repo/.local/bin/probe}
name=clickhouse
probe_kind=clickhouse
start_timeout=${DRIFTD_CLICKHOUSE_START_TIMEOUT:-60}
logs=("$state/logs/clickhouse-server.err.log" "$state/logs/stdout.log")

# shellcheck source=service.sh
source "$here/service.sh"

install_server() {
	[[ -x $server && -f /etc/clickhouse-server/config.xml ]] && return
	apt_install clickhouse-server clickhouse-client
}

write_config() {
	mkdir -p "$state/data/tmp" "$state/data/user_files" "$state/data/format_schemas" "$state/logs"
	# Rewrite the packaged config: our folders and ports, loopback only, and no
	# secure port (it needs TLS certificates we do not have).
	sed -e "s#/var/lib/clickhouse/#$state/data/#g" \
		-e "s#/var/log/clickhouse-server/#$state/logs/#g" \
		-e "s#<tcp_port>9000</tcp_port>#<tcp_port>$port</tcp_port>#" \
		-e "s#<http_port>8123</http_port>#<http_port>$http_port</http_port>#" \
		-e "s#<interserver_http_port>9009</interserver_http_port>#<interserver_http_port>$interserver_port</interserver_http_port>#" \
		-e "/<tcp_port_secure>/d" \
		-e "/<listen_host>::1<\/listen_host>/d" \
		/etc/clickhouse-server/config.xml >"$state/config.xml"
	cp /etc/clickhouse-server/users.xml "$state/users.xml"
}

up() {
	if running; then
		log "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
		wait_ready
		return
	fi
	refuse_foreign
	install_server
	write_config
	log "starting server on 127.0.0.1:$port (native), :$http_port (http)"
	(
		cd "$state"
		setsid "$server" --config-file="$state/config.xml" >"$state/logs/stdout.log" 2>&1 </dev/null &
		echo $! >"$pidfile"
	)
	wait_ready
}

dispatch "$@"
