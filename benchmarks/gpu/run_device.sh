#!/usr/bin/env bash
# The GPU session's one prepared script. Run on the device machine from the repository root, with
# .carry/ built here by `.venv/bin/python benchmarks/gpu/prepare_carry.py` and carried; one phase
# per command, each within 300 s of step limits (docs/gpu.md gives the device tool's calls):
#
#   bash benchmarks/gpu/run_device.sh check        # CUDA tests, host synchronisations before/after
#   bash benchmarks/gpu/run_device.sh bench        # training-step speed, the training feed
#   bash benchmarks/gpu/run_device.sh demo         # the demo on the GPU, its curve against the floor
#   bash benchmarks/gpu/run_device.sh comparison   # σ-VAE comparison runs, as many as fit
#   bash benchmarks/gpu/run_device.sh --dry-run check bench demo comparison   # CPU, tiny sizes
#
# It records the environment first, stops at once without CUDA or without the carried packages,
# runs each step under its own time limit, and exits non-zero if any step failed. $OUT gets at
# most 8 files (the device tool brings back no more): env.txt, steps.jsonl (one line per step:
# phase, step, exit status, seconds, limit), log.txt (every step's whole output, appended as it
# runs), and each phase's results, written as they come. The output itself stays short.
#
# --dry-run: the same steps on the CPU at tiny sizes, with Python $PY (default python3) behind a
# stand-in that hides the packages the device lacks unless carried (standin/sitecustomize.py);
# CARRY must then be a `prepare_carry.py --dry-run` build. tests/test_device_script.py runs it.
set -uo pipefail
DRY=0
if [ "${1:-}" = --dry-run ]; then DRY=1; shift; fi
for phase in "$@"; do
    case $phase in check|bench|demo|comparison) ;;
    *) echo "unknown phase '$phase' (check | bench | demo | comparison)" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: run_device.sh [--dry-run] check|bench|demo|comparison ..." >&2; exit 2; }

ROOT=$PWD
OUT=${OUT:-/tmp/svg_out}
WORK=${WORK:-/tmp/svg_device}        # the installed wheels and the run folders
CARRY=${CARRY:-$ROOT/.carry}
PY=${PY:-python3}
mkdir -p "$OUT" "$WORK"
SITE=$WORK/site:$CARRY/pkgs      # the carried packages, then the code: this tree's, or the one before
DEV=cuda
if [ $DRY = 1 ]; then
    DEV=cpu SITE=$ROOT/benchmarks/gpu/standin:$SITE
    export SVG_STANDIN_HIDDEN=$CARRY/hidden.txt CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=1
fi
export PYTHONPATH=$SITE:$ROOT PYTHONUNBUFFERED=1 MPLBACKEND=Agg
PHASE=setup
FAILED=0
SLACK=1   # the dry run's limits are the device's × 5: a busy CPU is slower than the GPU
[ $DRY = 1 ] && SLACK=5

# step NAME LIMIT COMMAND...: COMMAND under `timeout LIMIT`, its whole output appended to log.txt,
# one line here (the last lines of its output on failure); records it in steps.jsonl.
# STOPPED_OK=1 before it: stopping at the limit is an outcome (a run that trains until then).
step() {
    local name=$1 limit=$2 start=$SECONDS from rc
    shift 2
    echo "==== $PHASE/$name (limit ${limit}s): $*" >> "$OUT/log.txt"
    from=$(stat -c %s "$OUT/log.txt")
    timeout -k 5 $((limit * SLACK)) "$@" >> "$OUT/log.txt" 2>&1
    rc=$?
    printf '{"phase": "%s", "step": "%s", "rc": %d, "seconds": %d, "limit": %d}\n' \
        "$PHASE" "$name" $rc $((SECONDS - start)) "$limit" >> "$OUT/steps.jsonl"
    if [ $rc = 0 ] || { [ $rc = 124 ] && [ "${STOPPED_OK:-0}" = 1 ]; }; then
        echo "ok   $PHASE/$name $((SECONDS - start))s$([ $rc = 124 ] && echo ', stopped at its limit')"
    else
        echo "FAIL $PHASE/$name: exit $rc after $((SECONDS - start))s$([ $rc = 124 ] && echo ' (its limit)'); its last lines:"
        tail -c +$((from + 1)) "$OUT/log.txt" | grep -v "it/s\]" | tail -n 12 | cut -c1-300
        FAILED=$((FAILED + 1))
    fi
    return $rc
}

# ---- environment first, then stop at once if the machine cannot run the phases
# (at most 20 s, besides the steps' limits, and up to 5 s more for each step killed at its limit)
{
    date -u; uname -srm; echo "CPUs $(getconf _NPROCESSORS_ONLN)"; $PY --version
    timeout 15 $PY -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'GPU', torch.cuda.get_device_name() if torch.cuda.is_available() else None)"
    timeout 5 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
    $PY -m pip list 2>/dev/null | grep -i -E "^(torch|torchvision|numpy|scipy|scikit-image|imageio|tensorboard|pytest|matplotlib) "
    echo "dry run: $DRY; phases: $*"
} > "$OUT/env.txt" 2>&1
head -n 5 "$OUT/env.txt"
if [ $DRY = 0 ] && { ! grep -q "^torch " "$OUT/env.txt" || grep -q "^torch .* GPU None$" "$OUT/env.txt"; }; then
    echo "== stopped: $PY sees no CUDA GPU (env.txt says what it sees)"; exit 3
fi
step wheels 40 $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$WORK/site" "$CARRY"/whl/*.whl || { echo "== stopped: the carried wheels did not install"; exit 3; }
step imports 20 $PY -c "import omegaconf, lpips, tfrecord, svg.train.loop, eval_fvd" \
    || { echo "== stopped: the project does not import"; exit 3; }

# the sizes of each phase's steps: the device's, or the dry run's (tiny, CPU)
if [ $DRY = 0 ]; then
    PYTEST_CPU=(); SYNC=(--steps 20 --loop-steps 30 130)
    PRECISIONS_B16="fp32 tf32 bf16" PRECISIONS_B100="tf32 bf16" CASES_B100=(--case dcgan64 --case vgg64) PRECISION_HEADS=bf16
    B16=(--repeats 20); B100=(--batch 100 --repeats 10); FEED=(--feed-steps 40)
    DEMO=(); CURVE=(--every 500); CMP=(--seeds 5 --jobs "${JOBS:-12}")
    CMP_RESULTS=$ROOT/docs/decoder_comparison_gpu
else
    PYTEST_CPU=(--co); SYNC=(--steps 1 --loop-steps 1 2 --batch 2)
    # one of each command (bf16 is slow on most CPUs, vgg64 takes minutes on one core)
    PRECISIONS_B16=fp32 PRECISIONS_B100=tf32 CASES_B100=(--case dcgan64) PRECISION_HEADS=fp32
    B16=(--repeats 1 --batch 2); B100=(--batch 2 --repeats 1); FEED=(--feed-steps 2 --repeats 1)
    DEMO=(train.steps_per_epoch=4 train.ckpt_every=2 train.val_batches=1 train.batch_size=2)
    CURVE=(--every 2 --videos 2 --n-samples 2)
    CMP=(--seeds 1 --jobs 1 --runs optimal_sequence:0 --steps 2 --ckpt-every 2 --videos 2 --val-videos 2
         --n-samples 2)
    CMP_RESULTS=$WORK/comparison_gpu
fi

for PHASE in "$@"; do
    echo "== $PHASE $(date -u +%T)"
    case $PHASE in
    check)   # 60 + 60 + 60 + 60 s (each phase: at most 240 s, after the setup's 60)
        step pytest_cuda 60 $PY -m pytest -q -p no:cacheprovider tests/test_cuda.py
        # on this machine's torch but with the GPU hidden (their runs pick `auto` and compare
        # bitwise, as on a CPU): the suites whose code the CUDA work touched
        CUDA_VISIBLE_DEVICES= step pytest_cpu 60 $PY -m pytest -q -p no:cacheprovider "${PYTEST_CPU[@]}" \
            tests/test_recipe.py tests/test_recovery.py tests/test_likelihoods.py
        step sync_after 60 $PY benchmarks/gpu/sync_count.py --device $DEV "${SYNC[@]}" --out "$OUT/sync_after.json"
        PYTHONPATH=$SITE:$CARRY/before step sync_before 60 $PY benchmarks/gpu/sync_count.py \
            --device $DEV "${SYNC[@]}" --label before --out "$OUT/sync_before.json"
        $PY - "$OUT" <<'EOF'
import json, os, sys
for label in ("before", "after"):
    path = os.path.join(sys.argv[1], f"sync_{label}.json")
    r = json.load(open(path)) if os.path.exists(path) else {}
    print(f"   {label}: train_step waits/step {r.get('train_step', {}).get('waiting_calls_per_step', '-')}, "
          f"loop syncs/step {r.get('loop', {}).get('per_step', '-')}")
EOF
        ;;
    bench)   # 5 × 32 + 30 + 50 s
        nvidia-smi dmon -s u -d 1 > "$OUT/dmon.txt" 2>&1 &
        DMON=$!
        for prec in $PRECISIONS_B16; do
            step train_step_b16_$prec 32 $PY benchmarks/train_step.py --device $DEV --case demo --case dcgan64 \
                --precision $prec "${B16[@]}"
        done
        for prec in $PRECISIONS_B100; do
            step train_step_b100_$prec 32 $PY benchmarks/train_step.py --device $DEV "${CASES_B100[@]}" \
                --precision $prec "${B100[@]}"
        done
        # the motion heads' cost per step against the pixels head (docs/model.md#motion-heads)
        step train_step_heads 30 $PY benchmarks/train_step.py --device $DEV --case demo --heads \
            --precision $PRECISION_HEADS "${B16[@]}"
        # what the trainer's loader feeds the GPU, items/s, beside the loader before (uint8 + batched seeding)
        step feed 50 $PY benchmarks/data_throughput.py --datasets feed --device $DEV "${FEED[@]}"
        kill $DMON 2>/dev/null
        grep -h -E "^-- |speed-up|pixels head|items/s" "$OUT/log.txt" | tail -n 20 | cut -c1-200
        ;;
    demo)    # 160 + 80 s: the demo as users run it, as far as it gets, then its curve against the floor
        rm -rf "$WORK/runs/demo"
        STOPPED_OK=1 step demo_train 160 $PY train_svg.py --demo --no-progress train.device=$DEV \
            train.keep_last=40 train.ckpt_every=500 "${DEMO[@]}" run_dir="$WORK/runs/demo"
        STOPPED_OK=1 step demo_curve 80 $PY benchmarks/learning_curve.py --run "$WORK/runs/demo" --device $DEV \
            "${CURVE[@]}" --out "$OUT/demo_curve.json"
        ;;
    comparison)   # 220 + 20 s; run folders under $WORK resume in a later call on the same machine
        STOPPED_OK=1 step comparison "${CMP_SECONDS:-220}" $PY benchmarks/decoder_comparison.py --device $DEV \
            "${CMP[@]}" --results "$CMP_RESULTS" --out "$WORK/runs/comparison"
        step pack 20 tar czf "$OUT/comparison_gpu.tgz" -C "$(dirname "$CMP_RESULTS")" "$(basename "$CMP_RESULTS")"
        ;;
    esac
done
echo "== done $(date -u +%T): $FAILED step(s) failed (steps.jsonl, log.txt)"
[ $FAILED = 0 ]
