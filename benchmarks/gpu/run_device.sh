#!/usr/bin/env bash
# The GPU session's one prepared script (issue: CUDA end to end). Run on the device machine from the
# repository root, with .carry/ built here by `python benchmarks/gpu/prepare_carry.py` and carried:
#
#   bash benchmarks/gpu/run_device.sh check bench        # ~5 min: CUDA tests, sync counts, speed
#   bash benchmarks/gpu/run_device.sh demo               # the demo until it beats the floor
#   CMP_SECONDS=540 JOBS=12 bash benchmarks/gpu/run_device.sh comparison   # σ-VAE runs, as many as fit
#
# Everything it measures lands in $OUT (at most 8 files come back: the comparison's JSONs travel
# as one archive). Each phase has its own time limit, so one phase that hangs leaves the others.
set -uo pipefail
OUT=${OUT:-/tmp/svg_out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .carry/whl/*.whl || { echo "installing the carried wheels failed" >&2; exit 1; }
ROOT=$PWD
export PYTHONPATH=/tmp/site:$ROOT/.carry/pkgs:$ROOT PYTHONUNBUFFERED=1 MPLBACKEND=Agg
{
    date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.get_device_name())"
    nproc
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

for phase in "$@"; do
    echo "== $phase $(date -u +%T)"
    case $phase in
    check)
        # the CUDA tests; then, on this machine's torch but with the GPU hidden (their runs pick
        # `auto` and compare bitwise, as on a CPU), the suites whose code the CUDA work touched
        timeout 200 python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$OUT/pytest_cuda.txt"
        CUDA_VISIBLE_DEVICES= timeout 200 python3 -m pytest -q -p no:cacheprovider tests/test_recipe.py \
            tests/test_recovery.py tests/test_likelihoods.py 2>&1 | tail -n 15 | tee -a "$OUT/pytest_cuda.txt"
        timeout 150 python3 benchmarks/gpu/sync_count.py --out "$OUT/sync_after.json" > /dev/null
        PYTHONPATH=/tmp/site:$ROOT/.carry/pkgs:$ROOT/.carry/before timeout 150 \
            python3 benchmarks/gpu/sync_count.py --label before --out "$OUT/sync_before.json" > /dev/null
        python3 -c "
import json
for l in ('before', 'after'):
    r = json.load(open('$OUT/sync_' + l + '.json'))
    print(l, 'train_step waits/step', r['train_step']['waiting_calls_per_step'], 'loop syncs/step', r['loop']['per_step'])"
        ;;
    bench)
        nvidia-smi dmon -s u -d 1 > "$OUT/dmon.txt" 2>&1 &
        DMON=$!
        {
            for prec in fp32 tf32 bf16; do
                timeout 100 python3 benchmarks/train_step.py --device cuda --case demo --case dcgan64 \
                    --precision $prec --repeats 20
            done
            for prec in tf32 bf16; do
                timeout 100 python3 benchmarks/train_step.py --device cuda --case dcgan64 --case vgg64 \
                    --batch 100 --precision $prec --repeats 10
            done
            # what the trainer's loader feeds the GPU, items/s, beside the loader before (uint8 + batched seeding)
            timeout 90 python3 benchmarks/data_throughput.py --datasets feed --device cuda --feed-steps 40
        } 2>&1 | tee "$OUT/bench.txt"
        kill $DMON
        ;;
    demo)
        # the demo as users run it, on the GPU, then its validation curve against the floor
        RUN=/tmp/runs/demo_gpu
        /usr/bin/time -v timeout 420 python3 train_svg.py --demo --no-progress train.device=cuda \
            train.keep_last=40 train.ckpt_every=500 run_dir=$RUN 2>&1 | tail -n 40 \
            | tee "$OUT/demo_train.txt"
        timeout 150 python3 benchmarks/learning_curve.py --run $RUN --every 500 --device cuda \
            --out "$OUT/demo_gpu_curve.json" 2>&1 | tail -n 30 | tee -a "$OUT/demo_train.txt"
        ;;
    comparison)
        timeout "${CMP_SECONDS:-540}" python3 benchmarks/decoder_comparison.py --device cuda --seeds 5 \
            --jobs "${JOBS:-12}" --out /tmp/runs/comparison 2>&1 | grep -v "it/s" | tail -n 60 \
            | tee "$OUT/comparison.txt"
        tar czf "$OUT/comparison_gpu.tgz" docs/decoder_comparison_gpu 2>/dev/null
        ;;
    *) echo "unknown phase $phase (check | bench | demo | comparison)" >&2 ;;
    esac
done
echo "== done $(date -u +%T)"
