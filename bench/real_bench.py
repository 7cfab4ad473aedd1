"""Engine benchmark on real-looking products: textured labels with fine print, varied poses and cameras.

    python bench/real_bench.py                     # 12 products x 1, 2, 4, 8 views, 768 px photos
    python bench/real_bench.py --quick             # 6 products x 1 and 4 views, 512 px (about 3 min)
    python bench/real_bench.py --products mug,rect_tin --views 4
    python bench/real_bench.py --views 1,4 --size 512 --device cuda   # the engine on the GPU

On a GPU machine that lacks the scorer's setup: ``--prepare`` renders the photos and writes the job files (paths
relative to the repository), ``BENCH_DEVICE=cuda python bench/engine_bench.py --child bench/out/real/jobs_4v.json``
runs them there, and ``--score-only`` with the same options scores the returned models here.

For each product of bench/real_products.py: renders 8 studio photos at its own camera (elevation 0-35 deg, field
of view 20-60 deg; the engine is not told either), runs the engine (child process, 2 torch threads, the
product's shop title as the prompt) on 1 (front), 2, 4 and 8 equally spaced views, then
- geometry: ICP with scale (similarity) onto the ground truth, 10k surface samples, Chamfer-L1 and F@0.02 /
  0.05 / 0.1 as fractions of the ground truth's largest extent;
- appearance: the aligned model rendered unlit from its own texture at novel azimuths half-way between the
  inputs (for 1 view: +-45 deg), same elevation and field of view as the photos, 384 px; PSNR over the pixels
  either render covers and SSIM (grey) on their bounding box, against the lit ground-truth render;
- time (wall and CPU), peak RSS of the engine process, the 1-minute load average (the machine is shared),
  the estimated camera from ``metadata.camera_pose``, and the Khronos validator on every GLB (when
  tools/gltf-validator/node_modules is installed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from real_photos import render  # noqa: E402  (bench/ is the script directory)
from real_products import PRODUCTS, make  # noqa: E402
from scoring import load_glb, psnr, scores, ssim, summarize  # noqa: E402

OUT = ROOT / "bench" / "out" / "real"
QUICK = ("cereal_box", "tea_box_flat", "dented_can", "rect_tin", "elliptic_bottle", "mug")
NOVEL_SIZE = 384


def photos(name: str, size: int) -> list[Path]:
    d = OUT / "photos" / f"{name}_{size}"
    files = [d / f"az{45 * k:03d}.png" for k in range(8)]
    if not all(f.exists() for f in files):
        p = make(name)
        d.mkdir(parents=True, exist_ok=True)
        for k, f in enumerate(files):
            img, _ = render(
                p.mesh,
                p.uvs,
                p.texture,
                45.0 * k,
                size=size,
                elevation_deg=p.elevation_deg,
                fov_deg=p.fov_deg,
            )
            Image.fromarray(img).save(f)
    return files


def view_files(files: list[Path], n: int) -> list[Path]:
    return [files[(8 // n) * k] for k in range(n)]


def novel_azimuths(n: int) -> list[float]:
    if n == 1:
        return [45.0, 315.0]
    step = 360.0 / n
    return [step * (k + 0.5) for k in range(min(n, 4))]


def novel_scores(product, pred, transform) -> dict:
    s, r, t = transform
    aligned = pred.copy()
    aligned.vertices = s * np.asarray(pred.vertices) @ r.T + t
    vis = pred.visual
    tex = np.asarray(vis.material.baseColorTexture.convert("RGB"))
    uv = np.asarray(vis.uv, dtype=np.float64).copy()
    uv[:, 1] = 1.0 - uv[:, 1]  # trimesh flips glTF's v on load
    out = []
    for az in novel_azimuths(product["views"]):
        kw = dict(size=NOVEL_SIZE, elevation_deg=product["elev"], fov_deg=product["fov"])
        gt_img, gt_mask = render(product["gt"].mesh, product["gt"].uvs, product["gt"].texture, az, **kw)
        pr_img, pr_mask = render(aligned, uv, tex, az, frame_mesh=product["gt"].mesh, lit=False, **kw)
        m = gt_mask | pr_mask
        out.append((psnr(gt_img, pr_img, m), ssim(gt_img, pr_img, m)))
    return {"psnr": float(np.mean([o[0] for o in out])), "ssim": float(np.mean([o[1] for o in out]))}


def validate(glb: Path) -> int | None:
    tool = ROOT / "tools" / "gltf-validator"
    if not (tool / "node_modules" / "gltf-validator").exists():
        return None
    proc = subprocess.run(["node", str(tool / "validate.js"), str(glb)], capture_output=True, text=True)
    report = json.loads(proc.stdout)
    return int(report["issues"]["numErrors"]) + int(report["issues"]["numWarnings"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--products", default=None, help="comma-separated names (default: all)")
    ap.add_argument("--views", default=None, help="comma-separated view counts (default 1,2,4,8)")
    ap.add_argument("--size", type=int, default=None, help="photo size in px (default 768)")
    ap.add_argument("--quick", action="store_true", help="6 products, 1 and 4 views, 512 px")
    ap.add_argument("--json", default=str(OUT / "real_bench.json"))
    ap.add_argument("--tag", default="", help="suffix for job and model files (two runs side by side)")
    ap.add_argument("--device", default="cpu", help="the engine's device: cpu, cuda or auto")
    stage = ap.add_mutually_exclusive_group()
    stage.add_argument(
        "--prepare", action="store_true", help="render the photos and write the job files, run nothing"
    )
    stage.add_argument(
        "--score-only",
        action="store_true",
        help="score the models of an earlier run (e.g. one on a GPU machine)",
    )
    args = ap.parse_args(argv)
    names = args.products.split(",") if args.products else list(QUICK if args.quick else PRODUCTS)
    views = [int(v) for v in (args.views or ("1,4" if args.quick else "1,2,4,8")).split(",")]
    size = args.size or (512 if args.quick else 768)
    OUT.mkdir(parents=True, exist_ok=True)
    load = [os.getloadavg()[0]]
    files = {n: photos(n, size) for n in names}
    table: dict[int, dict] = {}
    for nv in views:
        jobs = [
            {
                "kind": n,
                "views": nv,
                "prompt": PRODUCTS[n][0],
                "images": [str(p.relative_to(ROOT)) for p in view_files(files[n], nv)],
                "out": str((OUT / f"{n}_{nv}v{args.tag}.glb").relative_to(ROOT)),
            }
            for n in names
        ]
        job_file = OUT / f"jobs_{nv}v{args.tag}.json"
        if not args.score_only:
            job_file.write_text(json.dumps(jobs))
        if args.prepare:
            print(f"wrote {job_file.relative_to(ROOT)}")
            continue
        if not args.score_only:
            load.append(os.getloadavg()[0])
            env = {**os.environ, "BENCH_DEVICE": args.device}
            subprocess.run(
                [sys.executable, str(ROOT / "bench" / "engine_bench.py"), "--child", str(job_file)],
                check=True,
                env=env,
            )
            load.append(os.getloadavg()[0])
        res = json.loads(job_file.with_suffix(".out.json").read_text())
        rows = []
        for r in res["results"]:
            gt = make(r["kind"])
            glb_path = OUT / f"{r['kind']}_{nv}v{args.tag}.glb"
            pred = load_glb(glb_path.read_bytes())
            geo, transform = scores(pred, gt.mesh)
            info = {"gt": gt, "views": nv, "elev": gt.elevation_deg, "fov": gt.fov_deg}
            img = novel_scores(info, pred, transform)
            cam = r.get("camera_pose") or {}
            row = {
                **{k: v for k, v in r.items() if k != "stats"},
                **geo,
                **img,
                "true_elev": gt.elevation_deg,
                "true_fov": gt.fov_deg,
                "est_elev": cam.get("elevation_deg"),
                "est_fov": cam.get("fov_deg"),
                "shape": r["stats"].get("shape_model", r["stats"].get("shape_prior")),
                "validator_issues": validate(glb_path),
            }
            rows.append(row)
            print(
                f"{nv}v {r['kind']:16s} {r['seconds']:5.2f}s cpu {r['cpu_seconds']:5.2f}  CD {geo['chamfer_l1']:.4f} "
                f"F2 {geo['f@0.02']:.3f} F5 {geo['f@0.05']:.3f}  PSNR {img['psnr']:5.2f} SSIM {img['ssim']:.3f}  "
                f"cam {row['est_elev']}/{row['est_fov']} (true {gt.elevation_deg:g}/{gt.fov_deg:g}) "
                f"shape {row['shape']} val {row['validator_issues']}",
                flush=True,
            )
        table[nv] = {"rows": rows, "peak_rss_mb": res["peak_rss_mb"], "device": res.get("device", "cpu")}
        for key in ("gpu", "peak_gpu_mb"):
            if key in res:
                table[nv][key] = res[key]
    if args.prepare:
        return 0
    summary = {}
    for nv, t in table.items():
        summary[nv] = summarize(
            t["rows"], t["peak_rss_mb"], ("chamfer_l1", "f@0.02", "f@0.05", "f@0.1", "psnr", "ssim")
        )
        s = summary[nv]
        print(
            f"== {nv} view(s): median {s['median_s']:.2f} s (cpu {s['median_cpu_s']:.2f}), peak {s['peak_rss_mb']:.0f} MB, "
            f"CD {s['chamfer_l1']:.4f}, F@.02 {s['f@0.02']:.3f} (min {s['min_f@0.02']:.3f}), "
            f"F@.05 {s['f@0.05']:.3f} (min {s['min_f@0.05']:.3f}), PSNR {s['psnr']:.2f}, SSIM {s['ssim']:.3f}, "
            f"on {table[nv]['device']}"
            + (
                f" ({table[nv]['gpu']}, peak {table[nv]['peak_gpu_mb']:.0f} MB on the GPU)"
                if "gpu" in table[nv]
                else ""
            )
        )
    print(f"load average (1 min) during the run: {min(load):.1f} - {max(load):.1f} on {os.cpu_count()} CPUs")
    Path(args.json).write_text(
        json.dumps(
            {
                "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}",
                "size": size,
                "load_avg_1m": [min(load), max(load)],
                "summary": summary,
                "table": table,
            },
            indent=1,
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
