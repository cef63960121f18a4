#!/usr/bin/env bash
# The CPU performance figures of docs/benchmarks.md: `pagoda bench latency`
# on the ~0.5B Llama in F16, Q8_0 and Q4_0 (batch 1, and aggregate decode
# over many sequences), each run its own process, each started only on an
# idle machine and kept only if the machine was still idle right after it
# (other processes' compiles would otherwise be measured). Appends one JSON
# object per kept run to OUT (default bench-cpu.jsonl) and prints a summary.
#
#   scripts/bench-cpu.sh [BUILD_DIR] [RUNS] [OUT]
#
# Environment: MODELS (folder of the benchmark models, made if missing;
# default /tmp/pagoda-bench), CONFIGS (default: all, see below), EXTRA (more
# flags for every run, e.g. "--kv-cache-dtype float32"). The runs use the
# kernels the CPU selects (each JSON object's "isa"); PAGODA_FORCE_AVX2=1
# in the environment measures the AVX2 path on an AVX-512 CPU, as the
# tables of docs/benchmarks.md do.
set -euo pipefail
build=${1:-build}
runs=${2:-3}
out=${3:-bench-cpu.jsonl}
models=${MODELS:-/tmp/pagoda-bench}
pagoda="$build/pagoda"
mkdir -p "$models"

make_model() {  # name dtype [extra mkmodel flags]
  local path="$models/$1.gguf"
  if [[ ! -s "$path" ]]; then
    "$pagoda" mkmodel --arch llama --dtype "$2" "${@:3}" --hidden-size 1024 --num-layers 24 \
      --num-heads 16 --num-kv-heads 8 --intermediate-size 4864 --vocab-size 32000 --out "$path" >&2
  fi
  echo "$path"
}

# Percent of CPU time idle over the next `1` seconds, from /proc/stat.
idle_pct() {
  local a b
  a=($(head -1 /proc/stat)); sleep "$1"; b=($(head -1 /proc/stat))
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  echo $(( 100 * (b[4] - a[4] + b[5] - a[5]) / (total > 0 ? total : 1) ))
}

wait_idle() {
  local waited=0
  until [[ $(idle_pct 3) -ge 90 ]]; do
    waited=$((waited + 3))
    if (( waited > 900 )); then echo "bench-cpu: machine busy for 15 minutes, giving up" >&2; exit 1; fi
  done
}

run() {  # label model flags...
  local label=$1 model=$2; shift 2
  local kept=0 tries=0 json
  while (( kept < runs && tries < runs * 3 )); do
    tries=$((tries + 1))
    wait_idle
    json=$("$pagoda" bench latency --model "$model" --threads 2 --num-iters 1 --json ${EXTRA:-} "$@")
    if [[ $(idle_pct 2) -lt 85 ]]; then
      echo "bench-cpu: $label: machine got busy during the run; discarded" >&2
      continue
    fi
    echo "{\"label\":\"$label\",\"result\":$json}" >> "$out"
    kept=$((kept + 1))
  done
}

f16=$(make_model m-f16 f16)
q8=$(make_model m-q8_0 q8_0)
q4=$(make_model m-q4_0 q4_0)
q4q6k=$(make_model m-q4_0-q6k q4_0 --output-dtype q6_k)

for c in ${CONFIGS:-latency aggregate}; do
  case $c in
    latency)
      for m in "f16 $f16" "q8_0 $q8" "q4_0 $q4" "q4_0+q6_k $q4q6k"; do
        set -- $m
        run "$1 512/128 b1" "$2" --input-len 512 --output-len 128 --batch-size 1
      done ;;
    aggregate)
      for m in "q8_0 $q8" "q4_0 $q4" "q4_0+q6_k $q4q6k"; do
        set -- $m
        for b in 1 4 16 32; do
          run "$1 128/128 b$b" "$2" --input-len 128 --output-len 128 --batch-size "$b" --bandwidth-mib 0
        done
      done ;;
  esac
done

/usr/bin/python3 - "$out" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows.setdefault(r["label"], []).append(r["result"])
def fmt(xs):
    xs = [x for x in xs if x]
    if not xs: return "-"
    m = sum(xs) / len(xs)
    return f"{m:.1f} ({min(xs):.1f}-{max(xs):.1f}, n={len(xs)})"
# The machine's memory may change speed between the probes before and
# after a run; the fraction against the best probe is only meaningful for
# runs whose probes agree (within 15%), listed separately.
def steady(r):
    p = r.get("read_bandwidth_probes_gb_s") or []
    return len(p) >= 2 and min(p) > 0 and max(p) / min(p) <= 1.15
for label, rs in rows.items():
    print(f"{label:24s} prefill {fmt([r['prefill_tokens_per_s'] for r in rs]):28s} "
          f"decode {fmt([r['decode_tokens_per_s'] for r in rs]):28s} "
          f"bw {fmt([r['read_bandwidth_gb_s'] for r in rs]):26s} "
          f"frac {fmt([100 * r['decode_bandwidth_fraction'] for r in rs])} "
          f"frac(steady probes) {fmt([100 * r['decode_bandwidth_fraction'] for r in rs if steady(r)])} "
          f"rss {max(r['peak_rss_mib'] for r in rs):.0f} MiB")
EOF
