"""The public API: one sorted `__all__`, every name real, and a light `import tracker`."""

from __future__ import annotations

import json
import subprocess
import sys

import tracker


def test_all_is_sorted_unique_and_importable() -> None:
    names = list(tracker.__all__)
    assert names == sorted(names)
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(tracker, name) is not None, name


def test_public_callables_are_documented() -> None:
    for name in tracker.__all__:
        obj = getattr(tracker, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_import_tracker_loads_no_client_library_and_no_network_stack() -> None:
    """`import tracker` must not pull in requests, the provider clients or the OTel SDK."""
    code = ("import sys, json, tracker; print(json.dumps(sorted(m for m in "
            "('requests', 'openai', 'anthropic', 'httpx', 'opentelemetry.sdk.trace') "
            "if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_every_public_name_has_one_source_and_import_is_lazy() -> None:
    """Each name in `__all__` resolves from its module; `import tracker` loads none of them."""
    assert set(tracker._SOURCES) | {"__version__"} == set(tracker.__all__)
    code = ("import sys, json, tracker; print(json.dumps(sorted(m for m in sys.modules "
            "if m.startswith(('tracker.', 'pydantic', 'opentelemetry')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
    with_config = subprocess.run(
        [sys.executable, "-c", "import sys, tracker; tracker.configure; "
         "print('tracker.setup._configure' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert with_config.stdout.strip() == "True"
