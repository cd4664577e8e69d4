#!/usr/bin/env bash
# Installs the Debian 12 packages metaevo needs, only those missing; quiet when all are present.
set -euo pipefail

packages=(
  g++ make cmake git
  openmpi-bin libopenmpi-dev
  libboost-serialization-dev libboost-mpi-dev
  libeigen3-dev
  libhdf5-dev hdf5-tools
  libgtest-dev libbenchmark-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  python3-sklearn  # experiments/digits/export_digits.py (scikit-learn's bundled 8x8 digits)
  python3-h5py python3-matplotlib
  python3-torch  # python/metaevo (EvolvedOptimizer) and its tests in tests/python/
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo=sudo; else
    echo "install-deps: missing packages: ${missing[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
else
  sudo=
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
