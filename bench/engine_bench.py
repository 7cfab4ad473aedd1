"""Generation-engine benchmark: procedural products -> studio photos -> engine -> geometry scores.

    python bench/engine_bench.py                 # all products, 4 views and 1 view, 1024 px photos
    python bench/engine_bench.py --kinds can,box --views 4 --size 512

For every product of devstore.studio it renders studio photos (white background, soft contact shadow, 10 deg
elevation, 30 deg field of view), runs the engine on 4 views and on the front view alone, aligns the
result to the ground-truth mesh by ICP with scale (rotation, translation and uniform scale, started from the
engine's canonical frame and from the three other quarter turns), then samples 10k points on each surface and
reports Chamfer-L1 and F-scores at 0.02 / 0.05 / 0.1 of the ground truth's largest extent. Engine jobs run in
a child process so its peak RSS is the engine's alone. Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring import load_glb, scores, summarize  # noqa: E402  (bench/ is the script directory)

OUT = ROOT / "bench" / "out"


def render_all(kinds: list[str], size: int) -> dict[str, list[Path]]:
    from devstore.studio import make_product, render_views

    paths = {}
    for kind in kinds:
        d = OUT / "renders" / f"{kind}_{size}"
        files = [d / f"view{i}.png" for i in range(4)]
        if not all(f.exists() for f in files):
            d.mkdir(parents=True, exist_ok=True)
            for f, im in zip(files, render_views(make_product(kind), n_views=4, size=size), strict=True):
                im.save(f)
        paths[kind] = files
    return paths


def child(job_file: str) -> None:
    """Run engine jobs listed in a JSON file; write results next to it. Runs in its own process.

    Paths in the job file may be relative to the repository root, so one prepared job file runs on another
    machine's checkout (bench/real_bench.py --prepare, then this on a GPU machine, then --score-only here).
    BENCH_DEVICE picks the engine's device (cpu, cuda, auto); BENCH_THREADS the torch CPU threads.
    """
    import torch

    from generation import Engine, GenerationParams, resolve_device

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    device = resolve_device(os.environ.get("BENCH_DEVICE", "cpu"))
    if device.type == "cuda":  # the context's start (a second or more) is not any one model's time
        torch.zeros(1, device=device).sum().item()
    jobs = json.loads(Path(job_file).read_text())
    engine = Engine()
    results = []
    for job in jobs:
        images = [(ROOT / p).read_bytes() for p in job["images"]]
        t, c = time.perf_counter(), time.process_time()
        res = engine.generate(images, prompt=job.get("prompt"), params=GenerationParams(), device=device)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        out = ROOT / job["out"]
        out.write_bytes(res.glb)
        results.append(
            {
                "kind": job["kind"],
                "views": job["views"],
                "seconds": dt,
                "cpu_seconds": dc,
                "stats": res.stats,
                "camera_pose": res.metadata.get("camera_pose"),
                "glb_bytes": len(res.glb),
                "splat_bytes": len(res.splat_ply),
            }
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {"results": results, "peak_rss_mb": peak_mb, "device": str(device)}
    if device.type == "cuda":
        summary["gpu"] = torch.cuda.get_device_name(device)
        summary["peak_gpu_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    Path(job_file).with_suffix(".out.json").write_text(json.dumps(summary))


def main(argv: list[str] | None = None) -> int:
    from devstore.studio import PRODUCT_KINDS, make_product

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default=",".join(PRODUCT_KINDS))
    ap.add_argument("--views", default="4,1")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--json", default=str(OUT / "engine_bench.json"))
    args = ap.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    views = [int(v) for v in args.views.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    renders = render_all(kinds, args.size)
    table = {}
    for nv in views:
        jobs = []
        for kind in kinds:
            imgs = renders[kind][:1] if nv == 1 else renders[kind][:nv]
            jobs.append(
                {
                    "kind": kind,
                    "views": nv,
                    "images": [str(p) for p in imgs],
                    "out": str(OUT / f"{kind}_{nv}v.glb"),
                }
            )
        job_file = OUT / f"jobs_{nv}v.json"
        job_file.write_text(json.dumps(jobs))
        subprocess.run([sys.executable, __file__, "--child", str(job_file)], check=True)
        res = json.loads(job_file.with_suffix(".out.json").read_text())
        rows = []
        for r in res["results"]:
            gt = make_product(r["kind"]).mesh
            pred = load_glb(Path(OUT / f"{r['kind']}_{nv}v.glb").read_bytes())
            sc, _ = scores(pred, gt)
            rows.append({**r, **sc})
            print(
                f"{nv}v {r['kind']:7s} {r['seconds']:6.2f}s (cpu {r['cpu_seconds']:5.2f}s)  CD-L1 {sc['chamfer_l1']:.4f}  "
                f"F@.02 {sc['f@0.02']:.3f}  F@.05 {sc['f@0.05']:.3f}  F@.1 {sc['f@0.1']:.3f}",
                flush=True,
            )
        table[nv] = {"rows": rows, "peak_rss_mb": res["peak_rss_mb"]}
    summary = {}
    for nv, t in table.items():
        summary[nv] = summarize(t["rows"], t["peak_rss_mb"], ("chamfer_l1", "f@0.02", "f@0.05", "f@0.1"))
        summary[nv]["load_avg_1m"] = os.getloadavg()[0]
        s = summary[nv]
        print(
            f"== {nv} view(s): median {s['median_s']:.2f} s/job (cpu {s['median_cpu_s']:.2f} s, load {s['load_avg_1m']:.1f}), peak RSS {s['peak_rss_mb']:.0f} MB, "
            f"mean CD-L1 {s['chamfer_l1']:.4f}, F@.02 {s['f@0.02']:.3f}, F@.05 {s['f@0.05']:.3f}, F@.1 {s['f@0.1']:.3f}"
        )
    machine = f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}, torch threads 2"
    Path(args.json).write_text(
        json.dumps(
            {"machine": machine, "size": args.size, "summary": summary, "table": table}, indent=1, default=str
        )
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
