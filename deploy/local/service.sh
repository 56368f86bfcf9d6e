# Shared by kafka.sh and clickhouse.sh (sourced, not run): pid-file process
# control for a local service. The sourcing script sets name, state,
# pidfile, port, probe, probe_kind, start_timeout and logs (the files whose
# tail explains a failed start), and defines up().

log() { printf '%s: %s\n' "$name" "$*" >&2; }

running() {
	[[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

apt_install() {
	log "installing $* with apt-get"
	local sudo=""
	[[ $(id -u) -ne 0 ]] && sudo=sudo
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >"$state/apt.log" 2>&1 ||
		{ log "apt-get install $* failed, see $state/apt.log"; tail -20 "$state/apt.log" >&2; exit 1; }
}

# wait_ready polls the probe — a real request, not a port check — until it
# answers, the process dies, or start_timeout passes.
wait_ready() {
	local deadline=$((SECONDS + start_timeout))
	until "$probe" "$probe_kind" "127.0.0.1:$port" >/dev/null 2>&1; do
		if ! running; then
			log "exited during start; last log lines:"
			tail -30 "${logs[@]}" >&2 2>/dev/null || true
			rm -f "$pidfile"
			exit 1
		fi
		if ((SECONDS > deadline)); then
			log "not ready after ${start_timeout}s; see ${logs[*]}"
			exit 1
		fi
		sleep 0.5
	done
	log "ready: 127.0.0.1:$port ($("$probe" "$probe_kind" "127.0.0.1:$port" 2>/dev/null))"
}

# refuse_foreign stops a start when something this script did not start
# already answers on the port (a server left by another checkout, say):
# the new one could not bind, and the probe would take the stranger for it.
refuse_foreign() {
	if "$probe" "$probe_kind" "127.0.0.1:$port" >/dev/null 2>&1; then
		log "127.0.0.1:$port already answers, but not from a $name this checkout started ($pidfile);"
		log "stop that one (make services-down in its checkout) or move this one's port"
		exit 1
	fi
}

# down stops only the process this script started, by its pid file: a
# clean SIGTERM first, SIGKILL after 30 s.
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
	if running; then echo "$name: running (pid $(cat "$pidfile")) 127.0.0.1:$port"; else echo "$name: stopped"; fi
}

dispatch() {
	case "${1:-}" in
	up) mkdir -p "$state" && up ;;
	down) down ;;
	status) status ;;
	*) echo "usage: $0 up|down|status" >&2; exit 2 ;;
	esac
}
