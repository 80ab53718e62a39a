"""Video redaction speed: seconds of 1080p CCTV redacted per second of wall-clock time
and per CPU-second, with one blurred box track over the whole clip (a bystander's face,
moving across the picture), through the redaction's own encoding pass and settings.

The footage is synthesised first by bench/video.py's generator (not timed). Prints the
machine, the speed and the process's peak RSS.

    python bench/video_redaction.py                      # 20 s of 1080p AVI, the job's settings
    python bench/video_redaction.py --seconds 60 --style pixelate
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import av
from benchkit import machine
from video import synthesise

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.domain.video import VideoLimits, VideoRedactionIn  # noqa: E402
from shared.services.evidence import transcoding  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--style", choices=["blur", "pixelate", "black"], default="blur")
    ap.add_argument("--box", type=int, default=240, help="the box's side in pixels (a face near a 1080p camera)")
    ap.add_argument("--threads", type=int, default=VideoLimits.threads)
    args = ap.parse_args(argv)

    limits = VideoLimits(threads=args.threads, budget_seconds=3600)
    side = args.box
    plan = VideoRedactionIn.model_validate(
        {
            "regions": [
                {
                    "style": args.style,
                    "keys": [
                        {"t": 0, "x": 0, "y": (args.height - side) // 2, "w": side, "h": side},
                        {"t": args.seconds, "x": args.width - side, "y": (args.height - side) // 2, "w": side, "h": side},
                    ],
                }
            ],
            "reason": "Benchmark: a bystander walking across the picture",
        }
    )
    with tempfile.TemporaryDirectory(prefix="vigil-bench-vredact-") as work:
        src = os.path.join(work, "cctv.avi")
        maker = multiprocessing.get_context("fork").Process(
            target=synthesise,
            args=(src,),
            kwargs={"seconds": args.seconds, "width": args.width, "height": args.height, "fps": args.fps, "source": "avi"},
        )
        maker.start()
        maker.join()
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        out = os.path.join(work, "redacted.mp4")
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        info = transcoding.probe(src)
        encoded = transcoding.encode(src, out, limits, known_duration=info.duration_seconds, redaction=plan)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        out_size = os.path.getsize(out)

    duration = encoded.duration_seconds
    print(f"machine: {machine()}; load before: {load}")
    print(f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}")
    print(f"source: {duration:.1f} s of {args.width}x{args.height} at {args.fps} fps, MPEG-4 part 2 in AVI (synthesised, not timed)")
    print(f"redaction: one {args.style} box of {side}x{side} moving across the picture for the whole clip")
    print(f"settings: threads {limits.threads}, preset {limits.preset}, crf {limits.crf}")
    print(f"redacted copy: {wall:.2f} s -> {out_size / 1e6:.1f} MB MP4")
    print(f"speed: {duration / wall:.2f} s of video per second; CPU {cpu / wall:.2f} cores busy")
    print(f"per CPU: {duration / cpu:.2f} s of video per CPU-second ({cpu:.1f} CPU-s in all)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
