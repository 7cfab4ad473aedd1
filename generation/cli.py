"""``nu3d generate IMG... --out DIR``: run the engine on image files, with a progress bar on stderr."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .config import RESOLUTIONS, EngineConfig, GenerationParams
from .engine import Engine
from .errors import GenerationError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nu3d generate",
        description="Turn 1..N product photos (front first, then counter-clockwise seen from above) into "
        "model.glb, splat.ply, preview.png and metadata.json.",
    )
    p.add_argument("images", nargs="+", metavar="IMG", help="product photos, e.g. front left back right")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    p.add_argument("--prompt", default=None, help="product title; may select a shape prior and a size")
    p.add_argument("--resolution", type=int, default=256, choices=RESOLUTIONS, help="voxel resolution")
    p.add_argument("--face-limit", type=int, default=10_000, help="maximum triangles in the GLB")
    p.add_argument("--texture-size", type=int, default=1024, help="base-colour texture side (power of two)")
    p.add_argument("--size-m", type=float, default=None, help="real-world height of the product in metres")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


class _Bar:
    def __init__(self, enabled: bool) -> None:
        # drawn only on a terminal: logs and captured stderr get the final line (or the one error line) alone
        self.enabled = enabled and sys.stderr is not None and sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def __call__(self, stage: str, percent: float) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(round(width * percent / 100))
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r[{bar}] {percent:5.1f}% {stage:<8s} {time.perf_counter() - self.t0:6.1f}s")
        if percent >= 100:
            sys.stderr.write("\n")
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    out = Path(args.out)
    bar = _Bar(not args.quiet)
    try:
        params = GenerationParams(
            resolution=args.resolution,
            face_limit=args.face_limit,
            texture_size=args.texture_size,
            size_hint_m=args.size_m,
        )
        result = Engine(EngineConfig()).generate(
            [Path(p) for p in args.images],
            prompt=args.prompt,
            params=params,
            device=args.device,
            progress=bar,
        )
    except GenerationError as err:
        if bar.enabled:
            sys.stderr.write("\r\033[K")
        sys.stderr.write(f"error: {err.message}\n")
        return 1
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.glb").write_bytes(result.glb)
        (out / "splat.ply").write_bytes(result.splat_ply)
        (out / "preview.png").write_bytes(result.preview_png)
        doc = {"metadata": [result.metadata], "stats": result.stats, "prompt": args.prompt}
        (out / "metadata.json").write_text(json.dumps(doc, indent=2) + "\n")
    except OSError as err:
        sys.stderr.write(f"error: cannot write to {str(out)!r}: {err.strerror or err}\n")
        return 1
    if not args.quiet:
        t = result.stats["timings_s"]["total"]
        print(
            f"wrote {out}/model.glb, splat.ply, preview.png, metadata.json in {t:.1f} s "
            f"({result.stats['faces']} faces, mask confidence {result.stats['mask_confidence']:.2f})"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
