"""Real backends the tests start on loopback: free ports, processes, and a real Prometheus.

Shared by the export tests (scraping) and the budget tests (alerting rules): one way to find a
port, wait for a listener, read JSON, stop a process, and run Prometheus on a config.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {port}") from None
            time.sleep(0.05)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(base: str, timeout: float = 30) -> None:
    """Prometheus listens before it serves queries (503 while the TSDB starts): poll /-/ready."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("Prometheus did not become ready")
        time.sleep(0.2)


@contextlib.contextmanager
def prometheus(tmp_path: Path, config: str) -> Iterator[str]:
    """A real Prometheus on a free loopback port with `config` (YAML); yields its base URL."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus is not installed: apt-get install -y --no-install-recommends "
                    "prometheus")
    path = tmp_path / "prometheus.yml"
    path.write_text(textwrap.dedent(config))
    port = free_port()
    with (tmp_path / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(
            [binary, f"--config.file={path}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_listening(port, proc)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        yield base
    finally:
        stop(proc)
