#!/bin/bash
# Runs the srt corpus entry's commands for linux-arm64 inside a full-system
# arm64 VM (qemu-system-aarch64 with TCG, no KVM), with `node` running the
# installed package and with the executable that duo-sea builds, and
# compares stdout, stderr and exit code. Under qemu-user, srt cannot create
# the user namespace that its sandbox needs. In the VM a real arm64 Linux
# kernel runs bubblewrap and user namespaces natively.
#
# Usage: test/arm64-vm/run.sh [--entry NAME] [--rebuild-image]
#   Writes docs/conformance-linux-arm64-vm.md and exits 1 when a command differs.
#
# Needs: root (debootstrap, chroot and mkfs.ext4 -d on files it owns), a
# Debian or Ubuntu host with apt, qemu-user binfmt for aarch64 with the F
# flag (Debian's qemu-user-static sets it), the Debian apt mirror and the
# npm registry. Installs with apt-get, when missing: qemu-system-arm,
# debootstrap, e2fsprogs, qemu-user-static.
#
# Cache: $DUO_SEA_CACHE or ~/.cache/duo-sea, the same as duo-sea's. The VM
# image (Debian 12 arm64 minbase with bubblewrap, socat, ripgrep,
# iproute2, libatomic1 and linux-image-arm64: about 650 MiB of files in a
# sparse 3 GiB ext4 image) goes into its arm64-vm/ folder. It is made again
# only when vm-init.sh or the package lists change, or with --rebuild-image. The VM discards its writes (snapshot=on), so the image
# stays as made.
#
# Time, measured on 2 shared x86-64 cores: making the image about 9 min,
# then each run about 4 min: build and payload under 1 min, VM boot and
# commands about 3 min.
set -euo pipefail

entry=@anthropic-ai/sandbox-runtime
rebuild_image=0
while [ $# -gt 0 ]; do
  case $1 in
    --entry) entry=$2; shift 2 ;;
    --rebuild-image) rebuild_image=1; shift ;;
    *) echo "run.sh: unknown option $1 (options: --entry NAME, --rebuild-image)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
corpus=${CORPUS:-$repo/../shared/corpus/corpus.json}
cache=${DUO_SEA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/duo-sea}
node_version=26.10.0
command_timeout_ms=600000
# Maximum time of the whole VM run, boot included, before qemu is killed.
vm_timeout_seconds=3600
# libatomic1: Node's linux-arm64 binary links libatomic.so.1, which minbase lacks.
debian_packages=bubblewrap,socat,ripgrep,iproute2,procps,util-linux,libatomic1
# Installed after the initramfs settings below, so the initrd holds only the modules the VM needs.
kernel_packages="linux-image-arm64 initramfs-tools"
# Modules that mount the root file system on virt's virtio-blk-pci disk. initramfs-tools adds their dependencies.
initrd_modules="virtio_pci virtio_blk ext4"

if [ "$(id -u)" != 0 ]; then
  echo "run.sh: must run as root, for debootstrap, chroot and mkfs.ext4 -d" >&2
  exit 2
fi

now() { date +%s; }

install_host_packages() {
  local missing=()
  command -v qemu-system-aarch64 >/dev/null || missing+=(qemu-system-arm)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || missing+=(qemu-user-static)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

# Makes root.img, vmlinuz and initrd.img in $1 from Debian 12 arm64. The
# chroot's arm64 programs run through qemu-user binfmt.
make_image() {
  local image_dir=$1
  local building="$image_dir.building"
  # A run that stopped during the chroot install may have left its /proc mounted.
  umount "$building/rootfs/proc" 2>/dev/null || true
  rm -rf --one-file-system "$building"
  mkdir -p "$building"
  debootstrap --arch=arm64 --variant=minbase --include="$debian_packages" bookworm "$building/rootfs" http://deb.debian.org/debian

  # The default MODULES=most copies about 900 modules, one program start
  # at a time, which took 15 min under qemu-user on 2 shared x86-64 cores.
  # With a list, each initrd takes about a minute.
  mkdir -p "$building/rootfs/etc/initramfs-tools/conf.d" "$building/rootfs/usr/share/initramfs-tools/modules.d"
  echo MODULES=list > "$building/rootfs/etc/initramfs-tools/conf.d/duo-sea-vm"
  printf '%s\n' $initrd_modules > "$building/rootfs/usr/share/initramfs-tools/modules.d/duo-sea-vm"
  mount -t proc proc "$building/rootfs/proc"
  chroot "$building/rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $kernel_packages \
    || { umount "$building/rootfs/proc"; return 1; }
  umount "$building/rootfs/proc"
  chroot "$building/rootfs" apt-get clean

  install -m 0755 "$here/vm-init.sh" "$building/rootfs/sbin/duo-sea-vm-init"
  echo duo-sea-vm > "$building/rootfs/etc/hostname"
  cp "$building"/rootfs/boot/vmlinuz-* "$building/vmlinuz"
  cp "$building"/rootfs/boot/initrd.img-* "$building/initrd.img"
  mkfs.ext4 -q -L duo-sea-vm -d "$building/rootfs" "$building/root.img" 3G
  rm -rf "$building/rootfs"
  rm -rf "$image_dir"
  mv "$building" "$image_dir"
}

install_host_packages

image_key=$(printf '%s\n' "$debian_packages" "$kernel_packages" "$initrd_modules" | cat - "$here/vm-init.sh" | sha256sum | cut -c1-12)
image_dir=$cache/arm64-vm/bookworm-$image_key
timings='{}'
add_timing() { timings=$(node -e 'const t = JSON.parse(process.argv[1]); t[process.argv[2]] = Number(process.argv[3]); console.log(JSON.stringify(t))' "$timings" "$1" "$2"); }

started=$(now)
if [ $rebuild_image = 1 ] || [ ! -f "$image_dir/root.img" ]; then
  echo "== making the VM image in $image_dir"
  make_image "$image_dir"
  add_timing "make the VM image" $(( $(now) - started ))
else
  echo "== reusing the VM image in $image_dir"
fi

# The last run's logs and results stay in $work; its large files go at exit.
work=$cache/arm64-vm/last-run
rm -rf --one-file-system "$work"
mkdir -p "$work"
trap 'rm -rf "$work/dist" "$work/payload" "$work/payload.tar" "$work/host-work" "$work/results.img"' EXIT

started=$(now)
echo "== building the linux-arm64 executable"
(cd "$repo" && npm run build --silent)
spec=$(node -e 'const [entry] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).filter((e) => e.name === process.argv[2]); if (!entry) process.exit(1); console.log(entry.spec)' "$corpus" "$entry") || {
  echo "run.sh: no entry named $entry in $corpus" >&2
  exit 2
}
bin=$(node -e 'const [entry] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).filter((e) => e.name === process.argv[2]); console.log(entry.bin)' "$corpus" "$entry")
node "$repo/lib/cli.js" build "$spec" --bin "$bin" --target linux-arm64 --archive tar.gz --node "$node_version" --cache "$cache" --out "$work/dist" >"$work/build.log" 2>&1 || {
  cat "$work/build.log" >&2
  exit 1
}
executable=$(find "$work/dist" -type f -name "$bin-linux-arm64" | head -n 1)
[ -n "$executable" ] || { echo "run.sh: the build wrote no $bin-linux-arm64 under $work/dist" >&2; exit 1; }
add_timing "build the executable" $(( $(now) - started ))

started=$(now)
echo "== preparing the payload"
mkdir -p "$work/payload" "$work/results"
node "$here/prepare-payload.mjs" --repo "$repo" --corpus "$corpus" --entry "$entry" --executable "$executable" \
  --cache "$cache" --node "$node_version" --timeout-ms "$command_timeout_ms" --out "$work/payload"
tar -cf "$work/payload.tar" -C "$work/payload" .
truncate -s 64M "$work/results.img"
add_timing "install the reference copy and pack the payload" $(( $(now) - started ))

started=$(now)
echo "== booting the VM (console: $work/console.log)"
# -cpu max with pauth-impdef: every arm64 feature TCG has, with a cheaper pointer authentication algorithm.
cpu=max,pauth-impdef=on
timeout "$vm_timeout_seconds" qemu-system-aarch64 -M virt -cpu "$cpu" -smp 2 -m 4096 \
  -nographic -no-reboot -nic none \
  -kernel "$image_dir/vmlinuz" -initrd "$image_dir/initrd.img" \
  -append "console=ttyAMA0 root=/dev/vda rw init=/sbin/duo-sea-vm-init panic=-1" \
  -drive file="$image_dir/root.img",format=raw,if=virtio,snapshot=on \
  -drive file="$work/payload.tar",format=raw,if=virtio,readonly=on \
  -drive file="$work/results.img",format=raw,if=virtio \
  </dev/null >"$work/console.log" 2>&1 || {
  echo "run.sh: qemu-system-aarch64 failed or timed out; last console lines:" >&2
  tail -n 40 "$work/console.log" >&2
  exit 1
}
add_timing "boot the VM and run the commands" $(( $(now) - started ))
tar -xf "$work/results.img" -C "$work/results"
cat "$work/results/payload.log"

node "$here/compare.mjs" --repo "$repo" --results "$work/results" --report "$repo/docs/conformance-linux-arm64-vm.md" \
  --qemu="$(qemu-system-aarch64 --version | head -n 1)" --machine="-M virt -cpu $cpu -smp 2 -m 4096" --timings="$timings"
