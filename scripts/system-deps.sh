#!/usr/bin/env bash
# Installs the Debian packages the platform needs: `runtime` for `make run`, `test` for `make test` too.
# As root it runs apt-get; otherwise it prints the exact command to run and fails.
set -euo pipefail

runtime=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk)
test_extra=(postgresql chromium poppler-utils libnss3-tools golang-go golang-golang-x-mod-dev)

packages=("${runtime[@]}")
if [ "${1:-runtime}" = "test" ]; then packages+=("${test_extra[@]}"); fi
# Debian splits venv out of python3; a Python without ensurepip needs it.
if ! python3 -c "import ensurepip" >/dev/null 2>&1; then
  packages+=("python3-venv")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "These system packages are missing. Install them as root, then run make again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
