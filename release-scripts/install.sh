#!/bin/sh
# Installs the executable of a duo-sea release that fits this machine.
#
# It reads SHA256SUMS from the release, picks the file <bin>-<os>-<arch>
# (for example srt-linux-x64), downloads or copies it into a temporary file
# next to the destination, checks its SHA-256, and only then renames it into
# place. On a mismatch or any other error nothing is installed.
#
# The script is POSIX sh, so dash, busybox ash and bash run it alike.

set -eu

usage() {
  cat <<'EOF'
Usage: install.sh (--base-url URL | --from DIR) [options]

Installs the executable of a duo-sea release for this OS, CPU and C library,
after checking its SHA-256 against the release's SHA256SUMS.

Source, one of:
  --base-url URL   URL of the release folder that contains SHA256SUMS, such as
                   https://gitlab.example.com/api/v4/projects/42/packages/generic/srt/0.0.78-node26.10.0
  --from DIR       local folder with the release files; nothing is downloaded

Options:
  --dir DIR        folder to install into (default: /usr/local/bin)
  --name NAME      file name of the installed command (default: the bin name,
                   such as srt)
  --bin NAME       bin name to install, for a release that holds several
  --target ID      target to install, such as linux-arm64 (default: this
                   machine's: linux or darwin, x64 or arm64, -musl on musl)
  --sha256 HEX     SHA-256 that the executable must have, from a channel you
                   trust; SHA256SUMS must list the same value
  -h, --help       print this help

Environment:
  DUO_SEA_INSTALL_TOKEN  token sent with HTTP Basic authentication (needs
                         curl), such as a GitLab personal, project, deploy or
                         CI/CD job token for a private package registry
  DUO_SEA_INSTALL_USER   user name sent with the token (default: token;
                         GitLab ignores it)
EOF
}

# Exit codes: 1 for a failed install, 2 for a usage error, as duo-sea uses them.
fail() {
  printf 'install.sh: error: %s\n' "$1" >&2
  if [ $# -gt 1 ]; then printf 'hint: %s\n' "$2" >&2; fi
  exit 1
}

usage_error() {
  printf 'install.sh: %s\n' "$1" >&2
  printf "Run 'install.sh --help' for the options.\n" >&2
  exit 2
}

base_url=
from_dir=
install_dir=/usr/local/bin
install_name=
bin=
target=
pinned_sha256=

require_value() {
  if [ "$2" -lt 2 ]; then usage_error "$1 requires a value"; fi
}

while [ $# -gt 0 ]; do
  case $1 in
    --base-url) require_value "$1" $#; base_url=$2; shift 2 ;;
    --base-url=*) base_url=${1#*=}; shift ;;
    --from) require_value "$1" $#; from_dir=$2; shift 2 ;;
    --from=*) from_dir=${1#*=}; shift ;;
    --dir) require_value "$1" $#; install_dir=$2; shift 2 ;;
    --dir=*) install_dir=${1#*=}; shift ;;
    --name) require_value "$1" $#; install_name=$2; shift 2 ;;
    --name=*) install_name=${1#*=}; shift ;;
    --bin) require_value "$1" $#; bin=$2; shift 2 ;;
    --bin=*) bin=${1#*=}; shift ;;
    --target) require_value "$1" $#; target=$2; shift 2 ;;
    --target=*) target=${1#*=}; shift ;;
    --sha256) require_value "$1" $#; pinned_sha256=$2; shift 2 ;;
    --sha256=*) pinned_sha256=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
  esac
done

if [ -n "$base_url" ] && [ -n "$from_dir" ]; then usage_error '--base-url and --from exclude each other'; fi
if [ -z "$base_url" ] && [ -z "$from_dir" ]; then usage_error 'pass --base-url URL or --from DIR'; fi
if [ -z "$install_dir" ]; then usage_error '--dir must not be empty'; fi
case $base_url in
  '' | http://* | https://*) ;;
  *) usage_error "--base-url must start with https:// or http://: $base_url" ;;
esac
case $pinned_sha256 in
  '') ;;
  *[!0-9a-fA-F]*) usage_error "--sha256 must be 64 hex digits: $pinned_sha256" ;;
  *) if [ ${#pinned_sha256} -ne 64 ]; then usage_error "--sha256 must be 64 hex digits: $pinned_sha256"; fi ;;
esac
pinned_sha256=$(printf '%s' "$pinned_sha256" | tr 'A-F' 'a-f')
# File names of a release use these characters only, so a name never leaves the destination folder.
for value in "$install_name" "$bin" "$target"; do
  case $value in
    *[!A-Za-z0-9._+-]* | '.' | '..') usage_error "invalid name: $value (allowed: letters, digits, '.', '_', '+', '-')" ;;
  esac
done

# Returns success when the C library is musl, as on Alpine Linux.
is_musl() {
  for loader in /lib/ld-musl-*; do
    if [ -e "$loader" ]; then return 0; fi
  done
  # musl's ldd prints its version to stderr and exits 1, while glibc's prints "GNU libc".
  ldd --version 2>&1 | grep -qi musl
}

detect_target() {
  case $(uname -s) in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) fail "this script installs Linux and macOS executables, and this system is $(uname -s)" 'On Windows, run install.ps1 instead.' ;;
  esac
  machine=$(uname -m)
  case $machine in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) fail "no duo-sea target runs on the CPU $machine" 'Targets exist for x64 and arm64 only.' ;;
  esac
  # A shell under Rosetta 2 reports x86_64 on Apple silicon, where the arm64 executable runs natively.
  # NOTE: the macOS branches here and in sha256_of (shasum) have not run on macOS in duo-sea's tests.
  if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
    arch=arm64
  fi
  target=$os-$arch
  if [ "$os" = linux ] && is_musl; then target=$target-musl; fi
}

work_dir=
staged_file=
cleanup() {
  if [ -n "$staged_file" ]; then rm -f "$staged_file"; fi
  if [ -n "$work_dir" ]; then rm -rf "$work_dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 129' HUP
trap 'exit 143' TERM

user=${DUO_SEA_INSTALL_USER:-token}
token=${DUO_SEA_INSTALL_TOKEN:-}
# curl reads the credentials from its standard input, so they never appear in the process list.
newline='
'
case $token$user in
  *'"'* | *\\* | *"$newline"*) fail 'DUO_SEA_INSTALL_TOKEN and DUO_SEA_INSTALL_USER must not contain ", \ or a line break' ;;
esac

# Downloads URL to FILE. curl sends HTTP Basic credentials only to the host of
# the first URL, so a redirect to object storage does not receive the token.
download() {
  if command -v curl >/dev/null 2>&1; then
    if [ -n "$token" ]; then
      printf 'user = "%s:%s"\n' "$user" "$token" |
        curl --config - --fail --silent --show-error --location --retry 3 --connect-timeout 30 --output "$2" "$1"
    else
      curl --fail --silent --show-error --location --retry 3 --connect-timeout 30 --output "$2" "$1"
    fi
  elif command -v wget >/dev/null 2>&1; then
    if [ -n "$token" ]; then
      fail 'a token for the download needs curl, and this system has only wget' 'Install curl, or copy the release here and use --from DIR.'
    fi
    wget -q -O "$2" "$1"
  else
    fail 'neither curl nor wget is installed' 'Install curl, or copy the release here and use --from DIR.'
  fi
}

# Chooses the SHA-256 tool before anything is downloaded.
if command -v sha256sum >/dev/null 2>&1; then
  sha256_tool=sha256sum
elif command -v shasum >/dev/null 2>&1; then
  sha256_tool=shasum
elif command -v openssl >/dev/null 2>&1; then
  sha256_tool=openssl
else
  fail 'no SHA-256 tool found (sha256sum, shasum or openssl)' 'Install coreutils or openssl.'
fi

sha256_of() {
  case $sha256_tool in
    sha256sum) sha256sum "$1" ;;
    shasum) shasum -a 256 "$1" ;;
    openssl) openssl dgst -sha256 -r "$1" ;;
  esac | cut -d ' ' -f 1
}

# Prints "<sha256> <name>" for every SHA256SUMS line whose file name is <bin>-<target>
# (any bin name when BIN is empty). Names with other characters are skipped.
find_executables() {
  awk -v target="$target" -v bin="$bin" '
    {
      sub(/\r$/, "")
      name = $2
      sub(/^\*/, "", name)
      if (NF != 2 || length($1) != 64 || $1 !~ /^[0-9a-f]+$/ || name !~ /^[A-Za-z0-9._+-]+$/) next
      prefix_length = length(name) - length(target) - 1
      if (prefix_length < 1 || substr(name, prefix_length + 1) != "-" target) next
      if (bin == "" || substr(name, 1, prefix_length) == bin) print $1, name
    }' "$1"
}

# Prints the executables that SHA256SUMS lists for any target, for an error message.
list_executables() {
  awk '{ name = $2; sub(/^\*/, "", name); sub(/\r$/, "", name) } name ~ /-(linux|darwin)-(x64|arm64)(-musl)?$/ { printf " %s", name }' "$1"
}

if [ -z "$target" ]; then detect_target; fi

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/duo-sea-install.XXXXXX")
sums_file=$work_dir/SHA256SUMS
base_url=${base_url%/}
if [ -n "$from_dir" ]; then
  if [ ! -f "$from_dir/SHA256SUMS" ]; then fail "$from_dir/SHA256SUMS not found" 'Pass --from with the folder that contains the release files.'; fi
  cp "$from_dir/SHA256SUMS" "$sums_file"
else
  if [ -n "$token" ]; then
    case $base_url in http://*) printf 'install.sh: warning: sending the token over plain http to %s\n' "$base_url" >&2 ;; esac
  fi
  download "$base_url/SHA256SUMS" "$sums_file" || fail "download of $base_url/SHA256SUMS failed" 'Check --base-url (the folder that holds SHA256SUMS) and, for a private registry, DUO_SEA_INSTALL_TOKEN.'
fi

matches=$(find_executables "$sums_file")
if [ -z "$matches" ]; then
  available=$(list_executables "$sums_file")
  case $target in
    *-musl) hint='This system uses the musl C library, and executables built for glibc do not run on it. Use a glibc-based system or image, such as Debian, Ubuntu or UBI.' ;;
    *) hint='Pass --target to choose another executable, or build this target with duo-sea.' ;;
  esac
  fail "SHA256SUMS lists no executable${bin:+ of $bin} for $target (it lists:${available:- none})" "$hint"
fi
if [ "$(printf '%s\n' "$matches" | awk 'END { print NR }')" -gt 1 ]; then
  fail "SHA256SUMS lists several executables for $target:$(printf '%s\n' "$matches" | awk '{ printf " %s", $2 }')" 'Pass --bin NAME to choose one.'
fi
expected_sha256=${matches%% *}
file=${matches#* }
if [ -z "$bin" ]; then bin=${file%-"$target"}; fi
if [ -z "$install_name" ]; then install_name=$bin; fi
if [ -n "$pinned_sha256" ] && [ "$pinned_sha256" != "$expected_sha256" ]; then
  fail "SHA256SUMS lists $expected_sha256 for $file, not the $pinned_sha256 of --sha256" 'The release differs from the one you pinned: get the release again from a trusted source.'
fi

destination=$install_dir/$install_name
if [ -d "$destination" ]; then fail "$destination is a folder" 'Pass --name or --dir so that the destination is a file path.'; fi
mkdir -p "$install_dir" || fail "cannot create $install_dir" 'Run as a user who can write there (for example with sudo), or pass --dir.'
# The temporary file sits in the destination folder, so the final mv is a rename within one file system.
staged_file=$(mktemp "$install_dir/.$install_name.XXXXXX" 2>/dev/null) ||
  fail "cannot write to $install_dir" 'Run as a user who can write there (for example with sudo), or pass --dir.'

if [ -n "$from_dir" ]; then
  cp "$from_dir/$file" "$staged_file" || fail "cannot copy $from_dir/$file" "Check that $from_dir holds every file of the release."
else
  download "$base_url/$file" "$staged_file" || fail "download of $base_url/$file failed" 'Check the network and --base-url, then run the script again.'
fi

actual_sha256=$(sha256_of "$staged_file")
if [ "$actual_sha256" != "$expected_sha256" ]; then
  fail "SHA-256 mismatch for $file: expected $expected_sha256, found ${actual_sha256:-nothing}; nothing was installed" 'The file is damaged or was replaced: get the release again and compare SHA256SUMS with the one you trust.'
fi

chmod 755 "$staged_file"
mv -f "$staged_file" "$destination"
staged_file=

printf 'Installed %s as %s (sha256 %s)\n' "$file" "$destination" "$actual_sha256"
case :${PATH:-}: in
  *:"$install_dir":*) ;;
  *) printf 'Note: %s is not on PATH.\n' "$install_dir" ;;
esac
