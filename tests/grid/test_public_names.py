"""`tracker.grid.forecast()` as the docs write it, after a plain ``import tracker``, and
`GridError` from the public API."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_grid_and_grid_error_after_import_tracker() -> None:
    script = textwrap.dedent("""
        import sys
        import tracker
        assert "tracker.grid._forecast" not in sys.modules  # still lazy
        assert callable(tracker.grid.forecast)
        from tracker import GridError
        assert issubclass(GridError, tracker.TrackerError)
        assert "GridError" in tracker.__all__ and "GridError" in dir(tracker)
        try:
            tracker.grid.forecast("GB", api_url="http://127.0.0.1:9", timeout=0.5, retries=0)
        except GridError as exc:
            print("GridError:", exc)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("GridError:")
