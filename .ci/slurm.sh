#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for tests/test_slurm.py:
#   .ci/slurm.sh && python -m pytest -m slurm tests/test_slurm.py
#
# Installs Debian's Slurm (slurm-wlm, 22.05 on bookworm) and munge if missing,
# writes a minimal /etc/slurm/slurm.conf for this node (its CPUs and memory as
# `slurmd -C` reports them), starts munged, slurmctld and slurmd as root (no
# systemd needed), and waits until `sinfo` shows the node idle.
#
# Idempotent: a second run leaves running daemons alone when the configuration
# is unchanged (restarts the ones it started when it changed) and returns as
# soon as the node is idle. Every wait is bounded: SLURM_SETUP_TIMEOUT seconds
# (default 90) for the node, 600 s for apt-get. It refuses to overwrite a
# slurm.conf it did not write. Needs root (or sudo).
set -euo pipefail

TIMEOUT=${SLURM_SETUP_TIMEOUT:-90}
CONF=/etc/slurm/slurm.conf
MARK="# written by jaxpar .ci/slurm.sh"
LOGDIR=/var/log/slurm
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid

say() { echo "slurm.sh: $*"; }
die() { echo "slurm.sh: error: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "needs root (or sudo) to install and start Slurm"
  exec sudo --preserve-env=SLURM_SETUP_TIMEOUT "$0" "$@"
fi

# 1. Packages.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v sinfo >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  APT_LOG=$(mktemp)
  { timeout 600 apt-get update -qq \
    && timeout 600 apt-get install -y -qq --no-install-recommends slurm-wlm munge; } >"$APT_LOG" 2>&1 \
    || die "apt-get update/install slurm-wlm munge failed or took over 600 s:
$(tail -n 20 "$APT_LOG")"
  rm -f "$APT_LOG"
fi

# 2. munge: the key (the Debian package makes one; a copied image may lack it), then munged.
if [ ! -s /etc/munge/munge.key ]; then
  say "creating /etc/munge/munge.key"
  if command -v mungekey >/dev/null; then
    mungekey --create --force
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
install -d -m 0755 "$LOGDIR"
if ! timeout 10 munge -n 2>/dev/null | timeout 10 unmunge >/dev/null 2>&1; then
  say "starting munged"
  # The daemons get no stdout/stderr of ours: a caller reading this script's
  # output through a pipe must see it end.
  timeout 30 runuser -u munge -- /usr/sbin/munged --force </dev/null >>"$LOGDIR/munged.out" 2>&1 \
    || die "munged did not start; see $LOGDIR/munged.out and /var/log/munge/munged.log"
  for _ in $(seq 20); do
    timeout 10 munge -n 2>/dev/null | timeout 10 unmunge >/dev/null 2>&1 && break
    sleep 0.5
  done
  timeout 10 munge -n | timeout 10 unmunge >/dev/null || die "munge does not work after starting munged"
fi

# 3. slurm.conf for this one node. The node line is `slurmd -C`'s: real CPUs,
# sockets, cores, threads and memory. Addresses are 127.0.0.1 so that nothing
# depends on the host name resolving. task/affinity binds each task to its
# core(s) (it works in this container: sched_setaffinity only, no cgroups);
# MinJobAge=10 keeps `sbatch --wait` polling every 8 s, not every 32 s and more,
# while a finished job stays visible longer than that.
HOST=$(hostname -s)
NODE=$(timeout 30 slurmd -C | grep '^NodeName=') || die "slurmd -C failed"
case "$NODE" in "NodeName=$HOST "*) ;; *) die "slurmd -C names another node than $HOST: $NODE";; esac
NEW=$(mktemp)
trap 'rm -f "$NEW"' EXIT
cat > "$NEW" <<EOF
$MARK: a one-node cluster for tests
ClusterName=jaxpar
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=none
ReturnToService=2
MinJobAge=10
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
  die "$CONF exists and was not written by this script; not touching it"
fi
CHANGED=0
if ! cmp -s "$NEW" "$CONF"; then
  install -d /etc/slurm
  install -m 0644 "$NEW" "$CONF"
  CHANGED=1
  say "wrote $CONF"
fi
install -d -m 0755 /var/spool/slurmctld /var/spool/slurmd

# 4. The daemons: started when not running, restarted (by their pid files) when
# the configuration changed under them.
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop() {
  if running "$1"; then
    local pid; pid=$(cat "$1")
    kill "$pid"
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}
if [ "$CHANGED" = 1 ]; then
  stop "$SLURMD_PID"
  stop "$CTLD_PID"
fi
if ! running "$CTLD_PID"; then
  say "starting slurmctld"
  timeout 30 slurmctld </dev/null >>"$LOGDIR/slurmctld.out" 2>&1 \
    || die "slurmctld did not start; see $LOGDIR/slurmctld.out and slurmctld.log"
fi
if ! running "$SLURMD_PID"; then
  say "starting slurmd"
  timeout 30 slurmd </dev/null >>"$LOGDIR/slurmd.out" 2>&1 \
    || die "slurmd did not start; see $LOGDIR/slurmd.out and slurmd.log"
fi

# 5. Wait, bounded, for the node to be idle (or mixed/allocated: jobs already
# running on it mean it is up), and responding (sinfo marks a node that is not
# with "*"). A node left down or drained by an earlier run is resumed, once.
state() { timeout 10 sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -1; }
DEADLINE=$((SECONDS + TIMEOUT))
RESUMED=0
while :; do
  STATE=$(state || true)
  case "$STATE" in
    idle|mixed|allocated|completing) break;;
    down*|drain*|fail*)
      if [ "$RESUMED" = 0 ]; then
        say "node $HOST is $STATE; resuming it"
        timeout 10 scontrol update NodeName="$HOST" State=RESUME || true
        RESUMED=1
      fi;;
  esac
  if [ "$SECONDS" -ge "$DEADLINE" ]; then
    die "node $HOST not idle after ${TIMEOUT} s (state: '${STATE:-no answer from slurmctld}');
  sinfo -R: $(timeout 10 sinfo -R -h 2>&1 | head -3)
  slurmctld.log: $(tail -n 5 "$LOGDIR/slurmctld.log" 2>/dev/null)
  slurmd.log: $(tail -n 5 "$LOGDIR/slurmd.log" 2>/dev/null)"
  fi
  sleep 1
done
say "node $HOST is $STATE ($(echo "$NODE" | grep -o 'CPUs=[0-9]*') $(echo "$NODE" | grep -o 'RealMemory=[0-9]*'))"
