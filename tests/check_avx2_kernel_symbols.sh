#!/usr/bin/env bash
# The AVX2 kernel's object must share no code with the rest of the library (or with any other
# program or library): src/tasks/mlp_float_kernel_avx2.cpp is compiled with -mavx2 -mfma, and an
# inline or template function it emits under a name another object also emits is one symbol after
# linking (the linker keeps one body, the dynamic linker one definition per process), so AVX2 code
# could run on a CPU without AVX2 (SIGILL), which no other test would see on an AVX2 machine.
#   check_avx2_kernel_symbols.sh NM READELF OBJECTS [sanitized]
# OBJECTS: the library's object files separated by ':' (CMake's $<TARGET_OBJECTS:metaevo_core>),
# the AVX2 one among them. Checks, on the AVX2 object:
#   1. its global and weak symbols are the entry metaevo_mlp_float_kernel_avx2_fma, names in the
#      renamed Eigen namespace metaevo_avx2_eigen (mangled "18metaevo_avx2_eigen": Eigen's code, and
#      std templates of Eigen types), and DW.ref.__gxx_personality_v0 (a data word holding the
#      address of the C++ personality routine for the unwind tables, the same in every object, no
#      code);
#   2. none of them (the personality word aside) is defined by another object of the library;
#   3. it has no static initializer (.init_array, .ctors): nothing of it runs before the CPU check.
#      Not checked with "sanitized" (METAEVO_SANITIZE): AddressSanitizer adds a module constructor
#      to every object (it registers the globals); such builds run on developers' machines, and the
#      rule that the library loads on any x86-64 CPU is for builds without sanitizers.
#   check_avx2_kernel_symbols.sh --self-test NM READELF OBJECTS
# checks the check: with task_mlp.cpp's object (Eigen and std code under their usual names) in the
# kernel's place, it must report symbols shared with other objects and outside the kernel's names.
set -euo pipefail
if [[ ${1:-} == --self-test ]]; then
  shift
  IFS=':' read -r -a all_objects <<<"$3"
  impostor=""
  rest=()
  for object in "${all_objects[@]}"; do
    case $object in
      */task_mlp.cpp.o) impostor=$object ;;
      */mlp_float_kernel_avx2.cpp.o) ;;
      *) rest+=("$object") ;;
    esac
  done
  [[ -n $impostor ]] || { echo "FAIL: no task_mlp.cpp.o among the objects" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  ln -s "$(cd "$(dirname "$impostor")" && pwd)/$(basename "$impostor")" "$work/mlp_float_kernel_avx2.cpp.o"
  list="$work/mlp_float_kernel_avx2.cpp.o$(printf ':%s' "${rest[@]}")"
  if report=$("$0" "$1" "$2" "$list" 2>&1); then
    echo "FAIL: the check accepted task_mlp.cpp's object as the AVX2 kernel:" >&2
    echo "$report" >&2
    exit 1
  fi
  for expected in "defines symbols outside its own names" "defined both by the AVX2 kernel and by another object"; do
    if ! grep -q "$expected" <<<"$report"; then
      echo "FAIL: the check did not report \"$expected\":" >&2
      echo "$report" | head -20 >&2
      exit 1
    fi
  done
  echo "ok: the check rejects an object with shared code ($(grep -c '^  _Z' <<<"$report") symbols reported)"
  exit 0
fi
nm_tool=$1
readelf_tool=$2
IFS=':' read -r -a objects <<<"$3"
sanitized=${4:-}

kernel=""
others=()
for object in "${objects[@]}"; do
  if [[ $object == */mlp_float_kernel_avx2.cpp.o ]]; then kernel=$object; else others+=("$object"); fi
done
if [[ -z $kernel ]]; then
  echo "FAIL: no mlp_float_kernel_avx2.cpp.o among the library's objects" >&2
  exit 1
fi

# Defined symbols that other objects can see: global (upper case), unique global (u), weak (V, W, v, w).
exported() { "$nm_tool" --defined-only -P "$1" | awk '$2 ~ /^[A-Zuvw]$/ && $2 != "N" { print $1 }' | sort -u; }

status=0
kernel_symbols=$(exported "$kernel")
if ! grep -qx 'metaevo_mlp_float_kernel_avx2_fma' <<<"$kernel_symbols"; then
  echo "FAIL: $kernel does not define metaevo_mlp_float_kernel_avx2_fma" >&2
  status=1
fi
foreign=$(grep -v -x -e 'metaevo_mlp_float_kernel_avx2_fma' -e 'DW.ref.__gxx_personality_v0' <<<"$kernel_symbols" |
  grep -v '18metaevo_avx2_eigen' || true)
if [[ -n $foreign ]]; then
  echo "FAIL: the AVX2 kernel defines symbols outside its own names (give them internal linkage):" >&2
  while read -r symbol; do echo "  $symbol  ($(c++filt "$symbol" 2>/dev/null || echo "$symbol"))" >&2; done <<<"$foreign"
  status=1
fi

others_symbols=$(for object in "${others[@]}"; do exported "$object"; done | sort -u)
shared=$(comm -12 <(grep -v -x 'DW.ref.__gxx_personality_v0' <<<"$kernel_symbols") <(echo "$others_symbols"))
if [[ -n $shared ]]; then
  echo "FAIL: symbols defined both by the AVX2 kernel and by another object of the library:" >&2
  while read -r symbol; do echo "  $symbol  ($(c++filt "$symbol" 2>/dev/null || echo "$symbol"))" >&2; done <<<"$shared"
  status=1
fi

initializers="no static initializers"
if [[ $sanitized == sanitized ]]; then
  initializers="static initializers not checked (sanitizer build)"
elif "$readelf_tool" -S -W "$kernel" | grep -E -q '\.(init_array|ctors|preinit_array)'; then
  echo "FAIL: $kernel has static initializers (.init_array/.ctors): they would run on every CPU" >&2
  status=1
fi

if [[ $status == 0 ]]; then
  echo "ok: $(wc -l <<<"$kernel_symbols") global/weak symbols of the AVX2 kernel, all its own; ${#others[@]} other objects; $initializers"
fi
exit $status
