#!/bin/bash
# Runs inside the arm64 VM as /payload/run.sh: records facts about the VM,
# then runs the job's commands with node and with the executable.
# Usage: run.sh PAYLOAD_DIR RESULTS_DIR
set -u
payload=$1
results=$2

{
  echo "kernel: $(uname -r)"
  echo "kernel build: $(cat /proc/version)"
  echo "machine: $(uname -m)"
  echo "cpus: $(nproc)"
  echo "debian: $(cat /etc/debian_version)"
  echo "node: $("$payload/node" --version)"
  echo "bwrap: $(bwrap --version)"
  echo "socat: $(socat -V 2>/dev/null | sed -n 's/^socat version \([^ ]*\).*/\1/p')"
  echo "rg: $(rg --version | head -n 1)"
  echo "user.max_user_namespaces: $(cat /proc/sys/user/max_user_namespaces)"
  # The check that fails under qemu-user: a new user namespace.
  if unshare --user --map-root-user true 2>/dev/null; then
    echo "unshare --user: works"
  else
    echo "unshare --user: fails"
  fi
} > "$results/vm-facts.txt" 2>&1

"$payload/node" "$payload/run-commands.mjs" "$payload/job.json" "$results/outcomes.json"
