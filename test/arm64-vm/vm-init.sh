#!/bin/sh
# PID 1 of the arm64 test VM, installed as /sbin/duo-sea-vm-init by run.sh.
# The VM has three virtio disks and no network device:
#   /dev/vda  the Debian root file system (qemu discards writes: snapshot=on)
#   /dev/vdb  a tar archive of the payload: binaries, jobs and runner
#   /dev/vdc  an empty disk that receives a tar archive of /results
# The payload's run.sh does the work. This script then writes the results
# and powers the VM off, so qemu exits.

# The initramfs moves its /proc, /sys, /dev and /run onto the root file system before it starts this script.
mount_once() {
  mountpoint -q "$3" || mount -t "$1" -o "$2" "$1" "$3"
}
mount_once proc defaults /proc
mount_once sysfs defaults /sys
mount_once devtmpfs defaults /dev
mkdir -p /dev/pts /dev/shm
mount_once devpts defaults /dev/pts
mount_once tmpfs defaults /dev/shm
mount_once tmpfs defaults /run
mount_once tmpfs size=1g /tmp
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

# srt's network proxy listens on 127.0.0.1, which needs the loopback interface up.
ip link set lo up
hostname duo-sea-vm

mkdir -p /payload /results
if tar -xf /dev/vdb -C /payload; then
  /bin/bash /payload/run.sh /payload /results > /results/payload.log 2>&1
  echo "$?" > /results/payload-exit
else
  echo "payload disk /dev/vdb is not a tar archive" > /results/payload.log
  echo 1 > /results/payload-exit
fi

tar -cf /dev/vdc -C /results .
sync
echo "duo-sea-vm: done, powering off"
# Root can write to sysrq-trigger whatever kernel.sysrq is set to, and "o" powers off through PSCI.
echo o > /proc/sysrq-trigger
sleep 30
