# Shared settings for the tools/cluster scripts; sourced, not run.
# Every path can be moved with an environment variable so that a second
# checkout, or CI, can keep its cluster elsewhere.

CLUSTER_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$CLUSTER_TOOLS/../.." && pwd)

CLUSTER_DIR=${CLUSTER_DIR:-$REPO_ROOT/.cache/cluster}
CLUSTER_BIN=${CLUSTER_BIN:-$CLUSTER_DIR/bin}
# Runtime state; `down` empties it, the binaries above are kept.
CLUSTER_STATE=${CLUSTER_STATE:-$CLUSTER_DIR/state}
CLUSTER_API_PORT=${CLUSTER_API_PORT:-6443}
# The kubelet reports this as its Hostname address and the API server dials
# it for logs and exec, so it must resolve to loopback.
CLUSTER_NODE_NAME=${CLUSTER_NODE_NAME:-localhost}
CLUSTER_POD_CIDR=${CLUSTER_POD_CIDR:-10.88.0.0/16}
CLUSTER_SERVICE_CIDR=${CLUSTER_SERVICE_CIDR:-10.89.0.0/16}
CLUSTER_BRIDGE=${CLUSTER_BRIDGE:-k3snc0}
CLUSTER_PAUSE_IMAGE=${CLUSTER_PAUSE_IMAGE:-registry.k8s.io/pause:3.10}

KUBECONFIG_PATH=$CLUSTER_DIR/kubeconfig
CONTAINERD_SOCKET=$CLUSTER_STATE/run/containerd.sock

PATH=/usr/local/go/bin:$PATH

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Seconds since the Unix epoch, with milliseconds, for the timings we print.
now() { date +%s.%3N; }
span() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }'; }
since() { span "$1" "$(now)"; }

# Components in start order; each runs from a binary of the same name.
COMPONENTS=(containerd kine kube-apiserver kube-controller-manager kube-scheduler kubelet)

pid_file() { echo "$CLUSTER_STATE/run/$1.pid"; }

# Prints the recorded pid of component $1 if that process still runs the
# component's binary; a reused pid belongs to someone else and is ignored.
live_pid() {
  local f pid argv0
  f=$(pid_file "$1")
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  argv0=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | head -n1) || return 1
  [[ ${argv0##*/} == "$1" ]] || return 1
  echo "$pid"
}

# start NAME ARGS...: runs NAME from the cluster's binaries (or PATH),
# detached by setsid so it outlives this script, recording pid and log.
start() {
  local name=$1 bin=$CLUSTER_BIN/$1
  shift
  [[ -x $bin ]] || bin=$(command -v "$name")
  setsid "$bin" "$@" >"$CLUSTER_STATE/log/$name.log" 2>&1 </dev/null &
  echo $! >"$(pid_file "$name")"
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local what=$1 deadline=$(($(date +%s) + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    for c in "${COMPONENTS[@]}"; do
      [[ ! -f $(pid_file "$c") ]] || live_pid "$c" >/dev/null ||
        die "$c exited while waiting for $what; see $CLUSTER_STATE/log/$c.log"
    done
    (($(date +%s) < deadline)) || die "timed out waiting for $what; logs in $CLUSTER_STATE/log"
    sleep 0.2
  done
}

kubectl() { "$CLUSTER_BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }
