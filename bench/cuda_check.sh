#!/usr/bin/env bash
# The CUDA check, as run on a lent GPU machine (the workplace's device tool) in one call: the engine's CUDA
# tests, then the real-product bench's engine jobs on CUDA and, for comparison, on that machine's CPU with the
# same 2 torch threads. Scoring needs the full setup, so it happens back here:
#
#   here:   python bench/real_bench.py --prepare --views 1,4 --size 512 --tag _cuda   (and --tag _dcpu)
#   there:  bash bench/cuda_check.sh                  (carrying bench/out/real and .whl, see below)
#   here:   python bench/real_bench.py --score-only --views 1,4 --size 512 --tag _cuda   (and _dcpu)
#
# The GPU machine's image has torch, numpy, scipy, scikit-image and pillow but not trimesh, xatlas or
# fast_simplification: pass their cp312 wheels in .whl/ (`pip download --no-deps --only-binary=:all:
# --python-version 3.12 ...`). The web stack is not installed there, so pytest is confined to tests/generation
# (--confcutdir keeps tests/conftest.py, which builds databases, out of it).
set -u
OUT=${OUT:-bench/out/cuda}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site
fi
{
    nvidia-smi -L
    python3 -c "import sys, torch, numpy; print(sys.version.split()[0], 'torch', torch.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name(0))"
    echo "cpus $(nproc)"
} 2>&1 | tee "$OUT/machine.txt"

timeout 180 python3 -m pytest --confcutdir=tests/generation -p no:cacheprovider -q -rA \
    tests/generation/test_engine.py 2>&1 | tee "$OUT/pytest.txt"

for tag in _cuda _dcpu; do
    device=cuda
    [ "$tag" = _dcpu ] && device=cpu
    for views in 1 4; do
        BENCH_DEVICE=$device BENCH_THREADS=2 timeout 240 python3 bench/engine_bench.py \
            --child "bench/out/real/jobs_${views}v${tag}.json" 2>&1 | tee -a "$OUT/engine${tag}.txt"
    done
done

tar czf /tmp/models.tgz bench/out/real/*_cuda.glb bench/out/real/*_dcpu.glb bench/out/real/jobs_*.out.json
split -b 15M /tmp/models.tgz "$OUT/models.tgz.part-"
ls -la "$OUT"
