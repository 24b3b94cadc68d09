#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 16, ASan + UBSan; clang 14 cannot compile
# compiler/codegen.cpp) in build-fuzz/ and runs each for a while, seeded from the repo's own
# models, configs and tensors; prints executions, corpus size and findings per target.
# Targets and what they cover: docs/hardening.md ("Fuzzing"). The grown corpus of each target
# stays in build-fuzz/corpus/TARGET (git-ignored) and seeds the next run.
# Usage: scripts/fuzz.sh [--seconds N] [--jobs N] [--keep-going] [TARGET...] [N]
#   TARGET: model arch sweep onnx tensor (default: all, one after the other); a bare number is N.
#   --seconds N     seconds per target (default 60)
#   --keep-going    do not stop a target at its first finding (libFuzzer's fork mode)
# Findings land in build-fuzz/findings/TARGET/ (crash-*, timeout-*, oom-*, leak-*); replay one
# with build-fuzz/fuzz/fuzz_TARGET FILE. The exit code is 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
ALL=(model arch sweep onnx tensor)
SECONDS_PER=60
KEEP_GOING=0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER=$2; shift 2 ;;
    --keep-going) KEEP_GOING=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    [0-9]*) SECONDS_PER=$1; shift ;;
    model|arch|sweep|onnx|tensor) TARGETS+=("$1"); shift ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")

# Debian's clang and its runtimes (libFuzzer, sanitizers); llvm-N has the symbolizer for
# reports; libonnx-testdata seeds the ONNX and tensor targets. Clang 16, not 14: compiler/codegen.cpp
# captures structured bindings in lambdas, which clang 14 refuses (FUZZ_LLVM=14 once it does not).
LLVM=${FUZZ_LLVM:-16}
scripts/deps.sh clang-$LLVM libclang-rt-$LLVM-dev llvm-$LLVM libonnx-testdata
export PATH=/usr/lib/llvm-$LLVM/bin:$PATH  # llvm-symbolizer
B=build-fuzz
if [ ! -f $B/CMakeCache.txt ]; then
  # -O1 without NDEBUG: fast enough to fuzz, and asserts stay on.
  cmake -S . -B $B -DCMAKE_CXX_COMPILER=clang++-$LLVM -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DFUSESIM_FUZZ=ON -DFUSESIM_TESTS=OFF
fi
cmake --build $B -j "$(nproc)" --target "${TARGETS[@]/#/fuzz_}"

# Seeds, made afresh each run from the repo's files (nothing binary is checked in for them),
# plus the checked-in regression corpus of past findings (tests/fuzz/corpus/TARGET).
TESTDATA=/usr/share/libonnx-testdata/data/node
ONNX_CASES="conv_with_strides_padding conv_with_autopad_same maxpool_2d_pads averagepool_2d_pads
  globalaveragepool gemm_default_vector_bias gemm_transposeB matmul_2d concat_3d_axis_1 flatten_axis1
  reshape_reordered_all_dims relu add_bcast batchnorm_example softmax_axis_1 transpose_default
  slice split_equal_parts_1d sigmoid clip_default_inbounds pad_constant_pad_equal"
make_seeds() {
  local t=$1 d=$B/seeds/$1
  rm -rf "$d" && mkdir -p "$d"
  case $t in
    model)
      # Small models only: a zoo network at 224x224 takes seconds per compile under ASan, so
      # the larger ones come at 64x64 (their layers and ops unchanged).
      cp models/{lenet5,tinydag,shuffle_unit}.yaml tests/cli/data/*.yaml "$d"/
      for m in alexnet mobilenet_v2 resnet18 squeezenet1_0; do
        sed -E 's/^input: \{shape: \[3, 224, 224\]\}/input: {shape: [3, 64, 64]}/' models/$m.yaml > "$d/$m-64.yaml"
      done ;;
    arch)
      local sets=("" "arch.buffers.sb.bytes=64KiB" "clock_ghz=2" "arch.dram.bandwidth_gbps=25.6"
                  "nfu.tn=8" "arch.dram.latency_ns=100")
      for f in configs/arch/*.yaml; do
        for k in "${!sets[@]}"; do
          { cat "$f"; printf '\0%s\n' "${sets[$k]}"; } > "$d/$(basename "$f" .yaml)-$k"
        done
      done ;;
    sweep) cp configs/sweeps/*.yaml tests/sweep/data/*.yaml "$d"/ ;;
    onnx)
      cp models/onnx/*.onnx "$d"/
      for c in $ONNX_CASES; do
        [ -f $TESTDATA/test_$c/model.onnx ] && cp $TESTDATA/test_$c/model.onnx "$d/$c.onnx"
      done ;;
    tensor)
      for c in $ONNX_CASES; do
        for f in $TESTDATA/test_$c/test_data_set_0/*.pb; do
          [ -f "$f" ] && cp "$f" "$d/${c}_$(basename "$f")"
        done
      done ;;
  esac
  if [ -d tests/fuzz/corpus/$t ]; then cp tests/fuzz/corpus/$t/* "$d"/ 2>/dev/null || true; fi
}

stat_of() { grep -o "stat::$1: *[0-9]*" "$2" | tail -1 | grep -o '[0-9]*$' || echo 0; }
found_any=0
printf '%-8s %12s %10s %8s %9s\n' target executions exec/s corpus findings > $B/summary.txt
for t in "${TARGETS[@]}"; do
  make_seeds "$t"
  corpus=$B/corpus/$t findings=$B/findings/$t log=$B/logs/$t.log
  mkdir -p "$corpus" "$findings" $B/logs
  flags=(-max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
         -artifact_prefix="$findings/")
  if [ $KEEP_GOING = 1 ]; then
    flags+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  fi
  before=$(ls "$findings" | wc -l)
  echo "fuzz.sh: $t for ${SECONDS_PER}s (log $log)"
  set +e
  ASAN_OPTIONS=${ASAN_OPTIONS:-} UBSAN_OPTIONS=print_stacktrace=1 \
    $B/fuzz/fuzz_$t "${flags[@]}" "$corpus" "$B/seeds/$t" > "$log" 2>&1
  rc=$?
  set -e
  execs=$(stat_of number_of_executed_units "$log")
  rate=$(stat_of average_exec_per_sec "$log")
  new=$(( $(ls "$findings" | wc -l) - before ))
  if [ $rc -ne 0 ] && [ "$new" -eq 0 ]; then new="rc=$rc"; fi
  [ "$new" = 0 ] || found_any=1
  printf '%-8s %12s %10s %8s %9s\n' "$t" "$execs" "$rate" "$(ls "$corpus" | wc -l)" "$new" >> $B/summary.txt
  if [ "$new" != 0 ]; then grep -m1 -A12 -E "^==[0-9]+==ERROR|runtime error|deadly signal|terminate called|ALARM" "$log" || true; fi
done
cat $B/summary.txt
exit $found_any
