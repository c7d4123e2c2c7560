"""A hanging grid API costs tracked calls nothing and does not hold the process at exit.

Against a local HTTP server (127.0.0.1) that accepts requests and never answers:

1. the time of one `record_usage()` with no live provider, with a live provider whose API hangs
   (the refresh thread stuck in a read), and with a live provider serving a fresh figure;
   cases are interleaved and the figure is the median over repetitions;
2. the time a child process takes to exit after its last tracked call, with no provider and with
   the provider's request hanging (the refresh thread is a daemon and is never joined).

    python -m benchmarks.speed.grid_overhead [--reps 15] [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

import tracker
from tracker.grid import _refresher as grid

TOKEN = "bench-token"


class FakeAPI:
    """Electricity Maps v3 shape; `hang` makes every request wait until `release` is set."""

    def __init__(self) -> None:
        self.hang = True
        self.hanging = threading.Event()
        self.release = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if api.hang:
                    api.hanging.set()
                    api.release.wait(120)
                    return
                zone = parse_qs(urlparse(self.path).query).get("zone", ["DE"])[0]
                body = json.dumps({"zone": zone, "carbonIntensity": 123,
                                   "datetime": "2024-05-01T12:00:00.000Z",
                                   "emissionFactorType": "lifecycle",
                                   "isEstimated": False}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _configure(api_url: str | None) -> None:
    tracker.configure(tracer_provider=TracerProvider(),
                      meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
                      ledger=None, instrument=False, region="DE",
                      grid="electricitymaps" if api_url else None, grid_api_url=api_url,
                      grid_api_token=TOKEN if api_url else None, grid_ttl_s=900)


def _time(func: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - start) / n


def _call() -> Any:
    return tracker.record_usage("gpt-4o", 500, 200, provider="openai")


def per_call(api: FakeAPI, reps: int, n: int) -> dict[str, float]:
    """Median seconds per record_usage() in the three situations."""
    samples: dict[str, list[float]] = {"no live provider": [], "live API hanging": [],
                                       "live figure fresh": []}
    fresh = FakeAPI()
    fresh.hang = False
    try:
        setups = {"no live provider": None, "live API hanging": api.url,
                  "live figure fresh": fresh.url}
        for name, url in setups.items():  # warm: build pricers, start threads, reach the API
            _configure(url)
            _time(_call, 200)
            if name == "live API hanging":
                assert api.hanging.wait(10), "the refresh thread never reached the API"
                assert _call().grid_source == "registry"
            if name == "live figure fresh":
                deadline = time.monotonic() + 10
                while _call().grid_source != "electricitymaps" and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert _call().grid_source == "electricitymaps"
        for _ in range(reps):
            for name, url in setups.items():
                _configure(url)   # a new refresher; the hanging one stays stuck in its read
                _call()
                samples[name].append(_time(_call, n))
    finally:
        tracker.reset()
        grid.shutdown()
        fresh.close()
    return {name: statistics.median(values) for name, values in samples.items()}


_CHILD = textwrap.dedent("""
    import sys
    import tracker
    url = sys.argv[1] if sys.argv[1].startswith("http") else None
    if sys.argv[1] == "import":
        import tracker.grid  # the network modules loaded, no provider
    tracker.configure(ledger=None, instrument=False, region="DE", grid_ttl_s=900,
                      grid="electricitymaps" if url else None, grid_api_url=url,
                      grid_api_token="bench-token" if url else None)
    tracker.record_usage("gpt-4o", 500, 200, provider="openai")
    print("ready", flush=True)
    sys.stdin.readline()
""")


def exit_time(api: FakeAPI, url: str) -> float:
    """Seconds from telling a child to finish to its exit (its grid request hanging if `url`)."""
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, url], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        if url.startswith("http"):
            assert api.hanging.wait(15), "the child's refresh thread never reached the API"
        start = time.perf_counter()
        _, err = proc.communicate("\n", timeout=60)
        elapsed = time.perf_counter() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"child failed: {err}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args(argv)
    api = FakeAPI()
    try:
        med = per_call(api, args.reps, args.n)
        print(f"record_usage(), median of {args.reps} interleaved repetitions x {args.n} calls")
        for name, value in med.items():
            print(f"  {name:<20} {value * 1e6:8.2f} us")
        ratio = med["live API hanging"] / med["no live provider"]
        print(f"  hanging / none       {ratio:8.2f} x")
        api.hanging.clear()
        base = statistics.median(exit_time(api, "") for _ in range(5))
        loaded = statistics.median(exit_time(api, "import") for _ in range(5))
        hung = statistics.median(exit_time(api, api.url) for _ in range(5))
        print("child process exit after its last call (median of 5; the API read timeout is 10 s)")
        print(f"  no live provider     {base * 1e3:8.1f} ms")
        print(f"  + network modules    {loaded * 1e3:8.1f} ms  (tracker.grid imported, "
              "no provider)")
        print(f"  live API hanging     {hung * 1e3:8.1f} ms")
    finally:
        api.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
