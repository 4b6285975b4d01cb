"""Many visitors at once, in a bounded, quick form of bench/load_test.py (loopback only).

16 gradio_client clients start together, each running 3 short seeded generations: all finish, each
result equals the same seed run alone (no cross-talk between sessions), the server's memory is flat
afterwards, and while they wait the queue tells them their position. A second app with a queue of 2
and one run at a time turns the surplus away at once with Gradio's "queue is full". (How fast Stop
frees a worker is measured in test_app_api.py.)
"""

import functools
import time

import httpx
import pytest
from gradio_client import Client
from gradio_client.utils import Status

from bench.load_test import alone, plan, rss_mb, run_load, serve_here

CLIENTS, RUNS, GEN_LENGTH = 16, 3, 8
# Server and clients share this process. Measured here: 5-13 MB more per round of 48 runs after the first
# (slowly falling: allocator arenas and caches); 48 runs leaking their traces and plots would exceed this.
RSS_TOLERANCE_MB = 40


@pytest.fixture(scope="module")
def solo_results():
    from llada_demo.engine import runs
    from llada_demo.models import load
    return alone(plan(CLIENTS, RUNS, GEN_LENGTH), functools.partial(runs.denoise, load("tiny-llada")))


def test_sixteen_clients_at_once_all_finish_alone_results_flat_memory(served_app, solo_results):
    # The same 16 visitors throughout: a warm-up round (not counted) opens their sessions and grows the
    # allocator's per-thread arenas once; a leak per run shows as growth from here on.
    pool = [Client(served_app, verbose=False) for _ in range(CLIENTS)]
    run_load(served_app, CLIENTS, RUNS, GEN_LENGTH, pool=pool)
    before = rss_mb()
    report = run_load(served_app, CLIENTS, RUNS, GEN_LENGTH, timeout_s=240, pool=pool)
    after = rss_mb()
    assert report.failures == []
    assert report.runs == CLIENTS * RUNS
    differing = [key for key, canvas in report.results.items() if canvas != solo_results[key]]
    assert differing == []  # each session got exactly what its seed gives alone
    assert len(set(report.results.values())) > CLIENTS  # and the seeds did make different texts
    assert after - before < RSS_TOLERANCE_MB, f"RSS grew from {before:.0f} MB to {after:.0f} MB"
    print(f"\nload: {CLIENTS} clients, {report.runs} runs, {len(report.failures)} failures, first frame p50 "
          f"{report.percentile(report.first_frame_s, .5):.2f} s p95 {report.percentile(report.first_frame_s, .95):.2f} s, "
          f"RSS {before:.0f} -> {after:.0f} MB, wall {report.wall_s:.1f} s")


def test_the_model_events_show_progress_and_queue_position(served_app):
    config = httpx.get(served_app + "config", timeout=30).json()
    model_events = [d for d in config["dependencies"]
                    if d.get("api_name") in ("denoise", "compare", "infill", "ask_forwards", "reversal_test_set")]
    assert len(model_events) == 5
    # Gradio draws "queue: 2/5" over an event's outputs while it waits, unless its progress is hidden.
    assert all(d["show_progress"] == "full" and d["queue"] for d in model_events)


@pytest.fixture(scope="module")
def small_queue():
    url, demo = serve_here(["--concurrency", "1", "--queue-size", "2"])
    yield url
    demo.close()


def test_waiting_clients_see_their_place_and_a_full_queue_says_so(small_queue):
    long_run = ("Kilm lived near the market with a lazy owl.", 192, 192, 192, "low_confidence", 0.0, 4.0, 0, True)
    clients = [Client(small_queue, verbose=False) for _ in range(5)]
    jobs = []
    ranks = []
    jobs.append(clients[0].submit(*long_run, api_name="/denoise"))
    while not jobs[0].outputs():  # the first run holds the only worker
        time.sleep(0.02)
    for c in clients[1:]:
        jobs.append(c.submit(*long_run, api_name="/denoise"))
        time.sleep(0.2)
    deadline = time.time() + 10
    while time.time() < deadline and len(ranks) < 2:
        for job in jobs[1:3]:
            status = job.status()
            if status.code == Status.IN_QUEUE and status.rank is not None:
                ranks.append(status.rank)
        time.sleep(0.1)
    full = []
    for job in jobs[3:]:
        try:
            job.result(timeout=30)
        except Exception as err:  # noqa: BLE001 - the point is what it says
            full.append(str(err))
    for job in jobs[:3]:
        job.cancel()
    assert ranks, "no waiting client was told its place in the queue"
    assert full and all("queue is full" in message.lower() for message in full)
    # After the crowd, the app answers again.
    result = list(Client(small_queue, verbose=False).submit(*(long_run[:1] + (8, 8, 8) + long_run[4:]),
                                                            api_name="/denoise"))
    assert len(result) == 8
