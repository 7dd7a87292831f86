#!/usr/bin/env bash
# The system programs the tests use: redis-server, nginx, haproxy, Chromium (/usr/bin/chromium),
# openssl and ip (iproute2). Used by `npm test` (test/run.ts) and by .ci/run.
#
# Everything present: prints nothing, exits 0. Something missing: as root with apt-get, installs
# just the missing packages (one line says so) and exits 0 once they are there; otherwise prints
# ONE line naming what to install and exits 1. Nothing else is ever run: no apt-get when all is
# present, no sudo.
set -uo pipefail

# "command to look for|apt package"; /usr/bin/chromium is where the browser tests launch it from.
requirements=(
  "redis-server|redis-server"
  "nginx|nginx"
  "haproxy|haproxy"
  "/usr/bin/chromium|chromium"
  "openssl|openssl"
  "ip|iproute2"
)

missing_packages() {
  local entry program package
  for entry in "${requirements[@]}"; do
    program=${entry%%|*}
    package=${entry##*|}
    if [[ $program == /* ]]; then [[ -x $program ]] && continue
    else command -v "$program" >/dev/null 2>&1 && continue
    fi
    printf '%s\n' "$package"
  done
}

mapfile -t need < <(missing_packages)
[[ ${#need[@]} -eq 0 ]] && exit 0

# Installed, but in an sbin folder that this shell's PATH lacks (`su` without `-`, some sudo setups):
# installing again would not help. (BOXWIRE_SBIN_DIRS: a test hook naming other folders to look in.)
read -r -a sbin_dirs <<< "${BOXWIRE_SBIN_DIRS-/usr/local/sbin /usr/sbin /sbin}"
off_path=()
for entry in "${requirements[@]}"; do
  program=${entry%%|*}
  [[ $program == /* ]] && continue
  command -v "$program" >/dev/null 2>&1 && continue
  for dir in "${sbin_dirs[@]}"; do
    if [[ -x $dir/$program ]]; then off_path+=("$dir/$program"); break; fi
  done
done
if [[ ${#off_path[@]} -gt 0 ]]; then
  echo "the tests need programs that are installed but not on your PATH: ${off_path[*]} — export PATH=\"\$PATH:/usr/local/sbin:/usr/sbin:/sbin\" and run again" >&2
  exit 1
fi

if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing the system packages the tests need: ${need[*]} (apt-get)"
  log=$(mktemp)
  if apt-get -o DPkg::Lock::Timeout=600 update -qq >"$log" 2>&1 &&
     DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >>"$log" 2>&1; then
    rm -f "$log"
    mapfile -t still < <(missing_packages)
    [[ ${#still[@]} -eq 0 ]] && exit 0
    echo "the tests need ${still[*]}, still missing after apt-get install; install them and run again" >&2
    exit 1
  fi
  echo "the tests need ${need[*]}: apt-get install failed (log: $log); install them and run again" >&2
  exit 1
fi

if command -v apt-get >/dev/null 2>&1; then
  how="run: sudo apt-get install -y ${need[*]} (or run the tests as root, which installs them)"
else
  how="install them with your package manager"
fi
echo "the tests need system packages that are missing: ${need[*]} — $how" >&2
exit 1
