"""Many visitors at once, over loopback: concurrent API clients, each running a few seeded generations.

    python bench/load_test.py [--clients 16] [--runs 5] [--gen-length 16] [--url http://127.0.0.1:7860/]

Without --url it serves the real app (app.py, the shipped tiny pair) in this process on a free
loopback port. Every client has its own seeds (temperature 1, so a seed matters); each result is
compared with the same settings run alone through the Denoise view, which shows cross-talk between
sessions if there were any. Prints clients, runs, failures, mismatches, p50/p95 time to first frame
and to the last frame, and the server's RSS before and after (only when the server is this process).
tests/test_load.py runs the same code in a bounded, quick form.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def request(prompt: str, seed: int, gen_length: int) -> tuple:
    """The /denoise inputs of one run: temperature 1 so that the seed decides the text."""
    return (prompt, gen_length, gen_length, gen_length, "low_confidence", 1.0, 0.0, seed, True)


PROMPTS = ("Kilm lived near the market with a lazy owl.", "Stalar had a cream ring.", "Once upon a time")


@dataclass
class Report:
    clients: int
    runs: int = 0
    failures: list = field(default_factory=list)
    first_frame_s: list = field(default_factory=list)
    total_s: list = field(default_factory=list)
    results: dict = field(default_factory=dict)  # (client, run) -> last canvas HTML
    wall_s: float = 0.0

    def percentile(self, values: list, q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def plan(clients: int, runs: int, gen_length: int) -> dict:
    """(client, run) -> the request, each with its own seed."""
    return {(c, r): request(PROMPTS[(c + r) % len(PROMPTS)], 1000 * c + r, gen_length)
            for c in range(clients) for r in range(runs)}


def run_load(url: str, clients: int, runs: int, gen_length: int, timeout_s: float = 300, pool: list | None = None
             ) -> Report:
    """Start `clients` threads at once, each a gradio_client running its `runs` requests one after another.

    pool: existing Clients to use (the same visitors coming back); by default each thread opens its own.
    """
    from gradio_client import Client

    requests = plan(clients, runs, gen_length)
    report = Report(clients=clients)
    lock = threading.Lock()
    start = threading.Barrier(clients)
    deadline = time.monotonic() + timeout_s

    def visitor(c: int) -> None:
        try:
            client = pool[c] if pool else Client(url, verbose=False)
        except Exception as err:  # noqa: BLE001 - counted, reported
            with lock:
                report.failures.append((c, -1, repr(err)))
            return
        start.wait()
        for r in range(runs):
            if time.monotonic() > deadline:
                with lock:
                    report.failures.append((c, r, "not started before the deadline"))
                continue
            t0 = time.perf_counter()
            first = None
            try:
                job = client.submit(*requests[(c, r)], api_name="/denoise")
                last = None
                for frame in job:
                    first = first or time.perf_counter() - t0
                    last = frame
                job.result(timeout=max(1.0, deadline - time.monotonic()))
            except Exception as err:  # noqa: BLE001 - counted, reported
                with lock:
                    report.failures.append((c, r, repr(err)[:200]))
                continue
            with lock:
                report.runs += 1
                report.first_frame_s.append(first)
                report.total_s.append(time.perf_counter() - t0)
                report.results[(c, r)] = last[0]

    threads = [threading.Thread(target=visitor, args=(c,), daemon=True) for c in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, deadline - time.monotonic() + 30))
    report.wall_s = time.perf_counter() - t0
    return report


def alone(requests: dict, denoise) -> dict:
    """The last canvas of each request run by itself, one after another, through the Denoise view."""
    from llada_demo.web import views

    backend = views.Backend(denoise=denoise)
    out = {}
    for key, args in requests.items():
        last = None
        for last in views.denoise_frames(backend, *args):
            pass
        out[key] = last[0]
    return out


def rss_mb() -> float:
    import psutil
    gc.collect()
    return psutil.Process().memory_info().rss / 1e6


def serve_here(extra: list[str] | None = None) -> tuple[str, object]:
    import app
    from tests.conftest import free_port

    port = free_port()
    demo = app.launch(app.parse_args(["--port", str(port), *(extra or [])]), prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/", demo


def serve_apart() -> tuple[str, object]:
    """The app in a process of its own (python app.py on a free loopback port), so that its RSS is the
    server's alone, not the clients' too; returns the URL and the process once the page answers."""
    import subprocess
    import urllib.request

    from tests.conftest import free_port

    port = free_port()
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen([sys.executable, str(root / "app.py"), "--port", str(port), "--model", "tiny-llada",
                               "--ar", "tiny-ar"], cwd=root, env={**os.environ, "OMP_NUM_THREADS": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        try:
            urllib.request.urlopen(url, timeout=2)
            return url, server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the app did not answer within 120 s")


def process_rss_mb(process) -> float:
    import psutil
    return psutil.Process(process.pid).memory_info().rss / 1e6


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--runs", type=int, default=5, help="generations per client")
    p.add_argument("--gen-length", type=int, default=16)
    p.add_argument("--url", help="a running app (loopback); default: serve one here")
    p.add_argument("--no-check", action="store_true", help="skip comparing each result with the same run alone")
    p.add_argument("--apart", type=int, default=0, metavar="ROUNDS",
                   help="serve the app in its own process and print its RSS after a warm-up and after each of "
                        "ROUNDS rounds of clients x runs (the memory figure without the clients in it)")
    args = p.parse_args(argv)
    if args.apart:
        url, server = serve_apart()
        try:
            from gradio_client import Client
            pool = [Client(url, verbose=False) for _ in range(args.clients)]
            run_load(url, args.clients, 1, args.gen_length, pool=pool)  # warm-up
            sizes = [process_rss_mb(server)]
            failures = 0
            for _ in range(args.apart):
                failures += len(run_load(url, args.clients, args.runs, args.gen_length, pool=pool).failures)
                sizes.append(process_rss_mb(server))
            print(f"server in its own process: {args.apart} rounds of {args.clients} clients x {args.runs} runs, "
                  f"failures {failures}; RSS after warm-up and each round (MB): "
                  + ", ".join(f"{m:.0f}" for m in sizes) + f" ({sizes[-1] - sizes[0]:+.0f} MB)")
        finally:
            server.terminate()
        return
    import torch
    torch.set_num_threads(1)
    demo = None
    url = args.url
    if url is None:
        url, demo = serve_here()
    from gradio_client import Client
    pool = [Client(url, verbose=False) for _ in range(args.clients)]
    run_load(url, args.clients, 1, args.gen_length, pool=pool)  # warm-up: one run each, not counted
    before = rss_mb() if demo else None
    report = run_load(url, args.clients, args.runs, args.gen_length, pool=pool)
    after = rss_mb() if demo else None
    mismatches = "not checked"
    if not args.no_check:
        import functools

        from llada_demo.engine import runs
        from llada_demo.models import load
        solo = alone(plan(args.clients, args.runs, args.gen_length), functools.partial(runs.denoise, load("tiny-llada")))
        mismatches = sum(1 for key, canvas in report.results.items() if solo[key] != canvas)
    cpu = os.cpu_count()
    print(f"clients {report.clients} · runs {report.runs} of {args.clients * args.runs} · failures "
          f"{len(report.failures)} · results differing from the same seed alone: {mismatches}")
    print(f"time to first frame p50 {report.percentile(report.first_frame_s, .5):.2f} s, "
          f"p95 {report.percentile(report.first_frame_s, .95):.2f} s · whole run p50 "
          f"{report.percentile(report.total_s, .5):.2f} s, p95 {report.percentile(report.total_s, .95):.2f} s · "
          f"wall {report.wall_s:.1f} s on {cpu} CPU cores, gen_length {args.gen_length}")
    if before is not None:
        print(f"server RSS before {before:.0f} MB, after {after:.0f} MB ({after - before:+.0f} MB)")
    for failure in report.failures[:5]:
        print("failure:", failure)
    if report.first_frame_s:
        print(f"mean time to first frame {statistics.mean(report.first_frame_s):.2f} s")
    if demo is not None:
        demo.close()


if __name__ == "__main__":
    main()
