"""Video pipeline speed: seconds of 1080p CCTV processed per second of wall-clock time
for what the upload job does to the footage (probe + playable H.264 copy + poster, and the
thumbnail strip taken in the same pass), with the job's own settings.

Synthesises the footage with PyAV first (not timed): a DVR-like export, 25 fps, a still
background with sensor noise and people-sized blocks moving across it, as MPEG-4 part 2
in AVI (the common DVR export) or H.264. Then runs the pipeline's own functions
(shared/services/evidence/transcoding.py) on it, in process, and reports the speed, the
process's peak RSS and the machine.

    python bench/video.py                          # 20 s of 1080p AVI, the job's settings (2 threads, superfast)
    python bench/video.py --seconds 60 --source h264 --threads 1 --preset veryfast
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from benchkit import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.domain.video import VideoLimits  # noqa: E402
from shared.services.evidence import transcoding  # noqa: E402


def synthesise(path: str, *, seconds: float, width: int, height: int, fps: int, source: str) -> None:
    """CCTV-like footage: a fixed scene, noise in every frame, a few moving figures."""
    rng = np.random.default_rng(7)
    fmt, codec = {"avi": ("avi", "mpeg4"), "h264": ("mp4", "libx264")}[source]
    out = av.open(path, "w", format=fmt)
    stream: Any = out.add_stream(codec, rate=fps)  # a video stream: the codec is one
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"g": str(fps * 2)} if codec == "mpeg4" else {"preset": "veryfast", "g": str(fps * 2)}
    if codec == "mpeg4":
        stream.bit_rate = 4_000_000  # what a 1080p DVR channel typically records
    yy, xx = np.mgrid[0:height, 0:width]
    scene = np.stack([(xx * 255 // width), (yy * 255 // height), ((xx + yy) * 127 // (width + height)) + 64], axis=-1).astype(np.uint8)
    figures = [(rng.integers(0, width), rng.integers(0, height), rng.integers(-12, 12), rng.integers(-6, 6)) for _ in range(4)]
    for i in range(int(seconds * fps)):
        img = scene.copy()
        noise = rng.integers(0, 12, size=(height // 4, width // 4, 1), dtype=np.uint8)
        img += np.kron(noise, np.ones((4, 4, 1), dtype=np.uint8))
        for x0, y0, dx, dy in figures:
            x, y = int(x0 + dx * i) % (width - 120), int(y0 + dy * i) % (height - 300)
            img[y : y + 300, x : x + 120] = (40, 40, 160)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, fps)
        for p in stream.encode(frame):
            out.mux(p)
    for p in stream.encode(None):
        out.mux(p)
    out.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--source", choices=["avi", "h264"], default="avi")
    ap.add_argument("--threads", type=int, default=VideoLimits.threads)
    ap.add_argument("--preset", default=VideoLimits.preset)
    args = ap.parse_args(argv)

    limits = VideoLimits(threads=args.threads, preset=args.preset, budget_seconds=3600)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-video-") as work:
        src = os.path.join(work, "cctv." + ("avi" if args.source == "avi" else "mp4"))
        t = time.perf_counter()
        # In a child process, so the peak RSS printed below is the pipeline's alone.
        maker = multiprocessing.get_context("fork").Process(
            target=synthesise,
            args=(src,),
            kwargs={"seconds": args.seconds, "width": args.width, "height": args.height, "fps": args.fps, "source": args.source},
        )
        maker.start()
        maker.join()
        made = time.perf_counter() - t
        size = os.path.getsize(src)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())

        cpu0 = time.process_time()
        t0 = time.perf_counter()
        info = transcoding.probe(src)
        t1 = time.perf_counter()
        encoded = transcoding.encode(
            src, os.path.join(work, "playable.mp4"), limits, poster_and_thumbnails=True, known_duration=info.duration_seconds
        )
        t2 = time.perf_counter()
        cpu = time.process_time() - cpu0
        out_size = os.path.getsize(os.path.join(work, "playable.mp4"))

    wall = t2 - t0
    duration = encoded.duration_seconds
    print(f"machine: {machine()}; load before: {load}")
    print(f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}")
    print(
        f"source: {duration:.1f} s of {args.width}x{args.height} at {args.fps} fps, {info.video.codec} in {info.container}, "
        f"{size / 1e6:.1f} MB (synthesised in {made:.1f} s, not timed)"
    )
    print(f"settings: threads {limits.threads}, preset {limits.preset}, crf {limits.crf}, playable height <= {limits.playable_max_height}")
    print(f"probe: {1000 * (t1 - t0):.1f} ms")
    print(
        f"playable copy + poster + thumbnails: {t2 - t1:.2f} s -> {out_size / 1e6:.1f} MB MP4, poster {len(encoded.poster or b'') / 1e3:.0f} kB"
    )
    print(f"speed: {duration / wall:.2f} s of video per second (x{duration / wall:.2f} real time); CPU {cpu / wall:.2f} cores busy")
    # The figure a shared machine cannot skew: what one core-second of CPU gets through.
    print(f"per CPU: {duration / cpu:.2f} s of video per CPU-second ({cpu:.1f} CPU-s in all)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
