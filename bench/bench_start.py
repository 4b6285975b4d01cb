"""How long `python app.py` takes to serve its page, and until its model is ready (median of N launches).

    OMP_NUM_THREADS=1 python bench/bench_start.py [--runs 3] [-- extra app.py flags]

Each run launches `python app.py --port <free port>` as a fresh subprocess (cold interpreter, warm disk
cache after the first), polls http://127.0.0.1:<port>/ until it answers 200 ("served"), and notes when
the app's stderr says "llada-demo: model ready" ("ready": the page's model events can run). It prints
each run and the medians. The goal (issue 13): served in under 8 s with the shipped tiny pair.

What it is not: a measure of the first run's speed (bench/bench_page.py) or of the import tree
(`python -X importtime app.py` says where import time goes).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY_LINE = "llada-demo: model ready"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def launch_once(extra: list[str], timeout_s: float = 180.0) -> tuple[float, float | None]:
    """(seconds until the page answered 200, seconds until the model was ready or None)."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *extra], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ready: list[float] = []

    def watch() -> None:  # stderr is read in full so the app never blocks on a full pipe
        for line in proc.stderr:
            if READY_LINE in line and not ready:
                ready.append(time.perf_counter() - start)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        served = None
        while time.perf_counter() - start < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {proc.returncode} before serving its page")
            if answers(f"http://127.0.0.1:{port}/"):
                served = time.perf_counter() - start
                break
            time.sleep(0.05)
        if served is None:
            raise RuntimeError(f"app.py did not serve its page within {timeout_s:.0f} s")
        while not ready and time.perf_counter() - start < timeout_s and proc.poll() is None:
            time.sleep(0.05)
        return served, (ready[0] if ready else None)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="flags passed on to app.py (after --)")
    args = parser.parse_args(argv)
    served, ready = [], []
    for i in range(1, args.runs + 1):
        s, r = launch_once(args.extra)
        served.append(s)
        if r is not None:
            ready.append(r)
        print(f"run {i}: page served after {s:.2f} s; model ready after "
              + (f"{r:.2f} s" if r is not None else "(no ready line)"), flush=True)
    print(f"median of {args.runs}: served {statistics.median(served):.2f} s"
          + (f", model ready {statistics.median(ready):.2f} s" if ready else ""))
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
