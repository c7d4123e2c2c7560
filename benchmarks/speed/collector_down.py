"""Collector down: what an unreachable OTLP collector costs a tracked application.

For each protocol (http/protobuf, grpc) and each failure (a closed port; a port that accepts
connections but never answers), runs an application subprocess configured only through
``OTEL_EXPORTER_OTLP_*`` that makes N tracked calls (`record_usage`) and then exits without
calling anything else. Prints, against a baseline run with no exporter:

- added time per tracked call (median and mean, microseconds);
- whether anything was raised (exit status, tracebacks on stderr);
- memory: RSS after the first 10% of calls and at the end (bounded queues: it must not grow);
- process exit time (last call -> process gone) and total wall time.

    python -m benchmarks.speed.collector_down [--calls N]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXIT_BOUND_S = 8.0

APP = textwrap.dedent("""
    import json, sys, time
    import tracker
    from tracker import record_usage

    def rss_mb():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    n = int(sys.argv[1])
    tracker.configure(instrument=False, ledger=None)
    record_usage("gpt-4o-mini", 10, 10, provider="openai")  # warm caches
    times, early = [], 0.0
    for i in range(n):
        t0 = time.perf_counter()
        record_usage("gpt-4o-mini", 100 + i % 1000, 50, provider="openai")
        times.append(time.perf_counter() - t0)
        if i == n // 10:
            early = rss_mb()
    times.sort()
    print(json.dumps({"median_us": times[len(times) // 2] * 1e6,
                      "mean_us": sum(times) / len(times) * 1e6, "rss_early_mb": early,
                      "rss_end_mb": rss_mb(), "last_call": time.time()}), flush=True)
""")


class SilentServer:
    """Accepts TCP connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()
        for c in self.conns:
            c.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(calls: int, otel: dict[str, str]) -> dict[str, float | str | bool]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACKER_"))}
    env.update(otel)
    started = time.time()
    proc = subprocess.run([sys.executable, "-c", APP, str(calls)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    ended = time.time()
    out: dict[str, float | str | bool] = {"rc": proc.returncode, "wall_s": ended - started,
                                          "traceback": "Traceback" in proc.stderr}
    if proc.returncode == 0:
        stats = json.loads(proc.stdout)
        out.update(stats)
        out["exit_s"] = ended - float(stats["last_call"])
    else:
        out["stderr"] = proc.stderr[-1000:]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=20_000)
    args = p.parse_args()
    silent = SilentServer()
    try:
        base = run(args.calls, {})
        print(f"baseline (no exporter): median {base['median_us']:.0f} us/call, "
              f"mean {base['mean_us']:.0f} us/call, exit {base['exit_s']:.2f} s, "
              f"RSS {base['rss_end_mb']:.0f} MB")
        print(f"{'protocol':<14}{'collector':<10}{'added median':>14}{'added mean':>12}"
              f"{'raised':>8}{'RSS 10%->end':>16}{'exit':>8}{'wall':>8}")
        ok = True
        for protocol in ("http/protobuf", "grpc"):
            for down, port in (("closed", closed_port()), ("silent", silent.port)):
                r = run(args.calls, {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                                     "OTEL_EXPORTER_OTLP_PROTOCOL": protocol})
                if r["rc"] != 0:
                    print(f"{protocol:<14}{down:<10} FAILED rc={r['rc']}: {r.get('stderr')}")
                    ok = False
                    continue
                added_med = float(r["median_us"]) - float(base["median_us"])
                added_mean = float(r["mean_us"]) - float(base["mean_us"])
                raised = bool(r["traceback"])
                print(f"{protocol:<14}{down:<10}{added_med:>11.0f} us{added_mean:>9.0f} us"
                      f"{'yes' if raised else 'no':>8}"
                      f"{float(r['rss_early_mb']):>8.0f}->{float(r['rss_end_mb']):.0f} MB"
                      f"{float(r['exit_s']):>7.2f}s{float(r['wall_s']):>7.2f}s")
                ok &= (added_mean < 1000 and not raised and float(r["exit_s"]) < EXIT_BOUND_S
                       and float(r["rss_end_mb"]) < float(r["rss_early_mb"]) + 50)
    finally:
        silent.close()
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
