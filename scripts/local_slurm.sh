#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for the Slurm executor's tests and for a developer who wants to
# try `mmkd-study reproduce --executor slurm` without a cluster.
#
#   scripts/local_slurm.sh start    install Debian's slurmctld, slurmd, slurm-client and munge if missing (as root),
#                                   write a configuration for this host, start munged, slurmctld and slurmd, and wait
#                                   until the node takes jobs
#   scripts/local_slurm.sh stop     stop the three daemons and remove the configuration this script wrote
#   scripts/local_slurm.sh status   exit 0 when a cluster answers `sinfo`
#
# It runs as root (slurmd starts jobs as their users). Its state lives in $MMKD_SLURM_DIR (default /tmp/mmkd-slurm).
# It never touches a Slurm configuration it did not write: when /etc/slurm/slurm.conf exists and is not its own, start
# refuses (that machine already has a cluster; use it).
set -euo pipefail
DIR=${MMKD_SLURM_DIR:-/tmp/mmkd-slurm}
CONF=/etc/slurm/slurm.conf
MARK="# written by mmkd_study scripts/local_slurm.sh"

die() { echo "local_slurm.sh: $*" >&2; exit 1; }

ours() { [ -f "$CONF" ] && head -1 "$CONF" | grep -qF "$MARK"; }

install_packages() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null && return
  [ "$(id -u)" = 0 ] || die "Slurm is not installed and this is not root: apt-get install slurmctld slurmd slurm-client munge"
  echo "installing Debian's Slurm and munge (about a minute)"
  local pkgs="slurmctld slurmd slurm-client munge"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >"$DIR/apt.log" 2>&1 \
    || { apt-get update -q >>"$DIR/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >>"$DIR/apt.log" 2>&1; } \
    || { tail -20 "$DIR/apt.log" >&2; die "apt-get install failed (log: $DIR/apt.log)"; }
}

write_config() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))    # MB, leaving 1 GB to the system
  mkdir -p /etc/slurm "$DIR/spool" "$DIR/state" "$DIR/log"
  # linuxproc/none: no cgroups needed (containers have none); cons_tres: several one-CPU jobs at once on the node
  cat >"$DIR/slurm.conf" <<EOF
$MARK
ClusterName=mmkd-local
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
ReturnToService=2
SlurmdSpoolDir=$DIR/spool
StateSaveLocation=$DIR/state
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  cp "$DIR/slurm.conf" "$CONF"
}

start() {
  if [ -f "$CONF" ] && ! ours; then die "$CONF exists and was not written by this script: this machine has a Slurm of its own"; fi
  mkdir -p "$DIR"
  if ours && sinfo -h >/dev/null 2>&1; then echo "local Slurm already running ($(sinfo -h -o '%n %C'))"; return; fi
  install_packages
  write_config
  if [ ! -s /etc/munge/munge.key ]; then mungekey -c -k /etc/munge/munge.key >/dev/null 2>&1 || mungekey -c; fi
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true; chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge; chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged || /usr/sbin/munged --force
  pgrep -x slurmctld >/dev/null || slurmctld -c          # -c: a clean state (no jobs left from an earlier cluster)
  pgrep -x slurmd >/dev/null || slurmd
  for _ in $(seq 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      echo "local Slurm started: $(sinfo -h -o 'partition %P, node %n, %c CPUs, %m MB')"; return
    fi
    sleep 1
  done
  tail -5 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  die "the node did not become idle within 60 s (logs in $DIR/log)"
}

stop() {
  ours || { echo "no local Slurm of this script's to stop"; return; }
  scancel --user "$(id -un)" 2>/dev/null || true
  for d in slurmd slurmctld; do pkill -x "$d" 2>/dev/null || true; done
  for _ in $(seq 20); do pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || break; sleep 0.5; done
  pkill -x munged 2>/dev/null || true
  rm -f "$CONF"
  echo "local Slurm stopped (state was in $DIR)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) ours && sinfo -h >/dev/null 2>&1 ;;
  *) die "usage: $0 start|stop|status" ;;
esac
