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

log() { printf 'clickhouse: %s\n' "$*" >&2; }

running() {
	[[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

install_server() {
	[[ -x $server && -f /etc/clickhouse-server/config.xml ]] && return
	log "installing Debian's clickhouse-server package"
	local sudo=""
	[[ $(id -u) -ne 0 ]] && sudo=sudo
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clickhouse-server clickhouse-client >"$state/apt.log" 2>&1 ||
		{ log "apt-get install failed, see $state/apt.log"; tail -20 "$state/apt.log" >&2; exit 1; }
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
	mkdir -p "$state"
	if running; then
		log "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"
		wait_ready
		return
	fi
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

wait_ready() {
	local deadline=$((SECONDS + ${DRIFTD_CLICKHOUSE_START_TIMEOUT:-60}))
	until "$probe" clickhouse "127.0.0.1:$port" >/dev/null 2>&1; do
		if ! running; then
			log "server exited; last log lines:"
			tail -30 "$state/logs/clickhouse-server.err.log" "$state/logs/stdout.log" >&2 2>/dev/null || true
			rm -f "$pidfile"
			exit 1
		fi
		if ((SECONDS > deadline)); then
			log "not ready after ${DRIFTD_CLICKHOUSE_START_TIMEOUT:-60}s; see $state/logs/"
			exit 1
		fi
		sleep 0.5
	done
	log "ready: 127.0.0.1:$port (version $("$probe" clickhouse "127.0.0.1:$port" 2>/dev/null))"
}

down() {
	if ! running; then
		log "not running"
		rm -f "$pidfile"
		return
	fi
	local pid
	pid=$(cat "$pidfile")
	log "stopping pid $pid"
	kill -TERM "$pid"
	for _ in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped"; return; }
		sleep 0.5
	done
	log "no clean stop after 30s, killing pid $pid"
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidfile"
}

status() {
	if running; then echo "clickhouse: running (pid $(cat "$pidfile")) 127.0.0.1:$port"; else echo "clickhouse: stopped"; fi
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
