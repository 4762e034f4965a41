"""Where the demo org lives: a simulator someone already runs, or one started here.

`ensure_simulator(ref)` is what `clients.connect()` calls for a `demo` org. Two ways of
working need two answers: a JupyterLab session runs `sfdoctor demo serve` once and exports
`SFDOCTOR_DEMO_URL`, so every notebook talks to that one world (and sees the same login
history); a plain `sfdoctor run` or a test starts its own in-process simulator, one per
scenario per process, and stops it when the process exits.
"""
from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the server (tornado, the World) loads only when this process starts one
    from .server import Simulator

__all__ = ["ensure_simulator", "running_simulator", "release_simulator", "serve_world", "ENV_VAR"]

ENV_VAR = "SFDOCTOR_DEMO_URL"

_lock = threading.Lock()
_running: dict[str, "Simulator"] = {}


def ensure_simulator(scenario_ref: str | None) -> str:
    """Base URL of the simulator serving `scenario_ref` (None: the default scenario).

    `$SFDOCTOR_DEMO_URL` wins whatever the scenario: that simulator serves the scenario it
    was started with. Otherwise one Simulator per scenario ref per process, started on
    first use, stopped at exit. A bad scenario raises scenario.ScenarioError.
    """
    external = os.environ.get(ENV_VAR, "").strip()
    if external:
        return external.rstrip("/")
    from .server import DEFAULT_SCENARIO, Simulator

    key = scenario_ref or DEFAULT_SCENARIO
    with _lock:
        sim = _running.get(key)
        if sim is None or sim.url is None:
            sim = Simulator(key)
            sim.start()
            _running[key] = sim
        return sim.url  # type: ignore[return-value]


def running_simulator(scenario_ref: str | None) -> "Simulator | None":
    """The in-process Simulator for `scenario_ref`, if this process started one (tests and
    benchmarks read its world and stats directly)."""
    with _lock:
        from .server import DEFAULT_SCENARIO

        return _running.get(scenario_ref or DEFAULT_SCENARIO)


def serve_world(scenario_ref: str, world: Any) -> str:
    """Serve an already built World as this process's simulator for `scenario_ref` (replacing
    any): a fleet worker parses an org's world file once and serves a fresh World of it for
    each of that org's runbooks, as `sfdoctor run` starts a fresh simulator per run."""
    from .server import Simulator

    release_simulator(scenario_ref)
    sim = Simulator(scenario_ref, world=world)
    url = sim.start()
    with _lock:
        _running[scenario_ref] = sim
    return url


def release_simulator(scenario_ref: str | None) -> None:
    """Stop and forget this process's simulator for `scenario_ref`, if any: a fleet worker
    serves each org's world only while that org's runbooks run, so its memory stays flat."""
    from .server import DEFAULT_SCENARIO

    with _lock:
        sim = _running.pop(scenario_ref or DEFAULT_SCENARIO, None)
    if sim is not None:
        sim.stop()


@atexit.register
def _stop_all() -> None:
    with _lock:
        sims = list(_running.values())
        _running.clear()
    for sim in sims:
        sim.stop()
