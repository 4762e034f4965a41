"""Shared fixtures: a simulator per test (or per module) and a session routed to it.

`simulator(ref_or_path)` starts `Simulator` on a free loopback port and stops it after the
test. `write_scenario(yaml_text)` writes a scenario file into the test's tmp_path.
`routed_session(sim)` is a `requests.Session` whose https:// requests go to the simulator
with the original Host header kept — what sfdoctor's clients.py does for the demo org —
so the unmodified simple-salesforce, zeep and requests talk to it as to Salesforce.
`tls_proxy(sim)` goes further for clients that cannot take an adapter (other processes,
other languages): real HTTPS to the real host names through a local proxy to the simulator.
"""
from __future__ import annotations

import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from sfdoctor.demo.server import Simulator
from tls_proxy import TlsProxy

# The shared runbook-test helpers assert; let pytest show their values as in a test module.
pytest.register_assert_rewrite("runbook_harness")

# Hosts the simulator stands in for (the client-side transport adapter re-routes the same).
ROUTED_SUFFIXES = (".salesforce.com", ".force.com", ".mktorest.com", ".marketingcloudapis.com")


class RerouteAdapter(HTTPAdapter):
    """Send https://<salesforce host>/... to http://127.0.0.1:PORT/..., Host header kept."""

    def __init__(self, target: str, **kwargs: object):
        super().__init__(**kwargs)
        self.target = urlsplit(target)

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        host = parts.hostname or ""
        if host.endswith(ROUTED_SUFFIXES):
            request.headers["Host"] = parts.netloc
            request.url = urlunsplit((self.target.scheme, self.target.netloc, parts.path, parts.query, ""))
        return super().send(request, **kwargs)  # type: ignore[arg-type]


def routed_session(sim_or_url: Simulator | str) -> requests.Session:
    """A requests.Session whose https:// traffic reaches the simulator."""
    url = sim_or_url if isinstance(sim_or_url, str) else sim_or_url.url
    assert url, "simulator not started"
    session = requests.Session()
    session.mount("https://", RerouteAdapter(url))
    return session


BASE_SCENARIO = """
name: conformance
client_ip: 203.0.113.7
salesforce:
  my_domain: acme
  trusted_ip_ranges:
    - {start: 198.51.100.0, end: 198.51.100.255, description: Head office}
  profiles:
    - {name: Marketo Sync, api_enabled: true}
    - {name: Office Only, api_enabled: true, login_ip_ranges: [{start: 192.0.2.0, end: 192.0.2.255}]}
    - {name: Anywhere, api_enabled: true, login_ip_ranges: [{start: 203.0.113.0, end: 203.0.113.255}]}
    - {name: No API, api_enabled: false}
  users:
    - {username: admin@acme.example, password: Adm1n-pass, security_token: AAAAtokenAAAA,
       profile: System Administrator, admin: true}
    - {username: sync@acme.example, password: Sync-pass-1, security_token: BBBBtokenBBBB, profile: Marketo Sync}
    - {username: office@acme.example, password: Office-pass-1, security_token: CCCCtokenCCCC, profile: Office Only}
    - {username: roam@acme.example, password: Roam-pass-1, security_token: DDDDtokenDDDD, profile: Anywhere}
    - {username: noapi@acme.example, password: NoApi-pass-1, security_token: EEEEtokenEEEE, profile: No API}
    - {username: locked@acme.example, password: Locked-pass-1, security_token: FFFFtokenFFFF,
       profile: Marketo Sync, locked: true}
    - {username: frozen@acme.example, password: Frozen-pass-1, security_token: GGGGtokenGGGG,
       profile: Marketo Sync, frozen: true}
    - {username: gone@acme.example, password: Gone-pass-1, security_token: HHHHtokenHHHH,
       profile: Marketo Sync, active: false}
    - {username: expired@acme.example, password: Expired-pass-1, security_token: IIIItokenIIII,
       profile: Marketo Sync, password_expired: true}
  objects:
    Lead:
      fields:
        - {name: mkto71_Lead_Score__c, label: Lead Score, type: double, hidden_from: [Marketo Sync]}
  records:
    Lead:
      - {FirstName: Aiko, LastName: Sato, Email: aiko@example.jp, Company: Example KK}
"""

ADMIN = ("admin@acme.example", "Adm1n-pass", "AAAAtokenAAAA")
SYNC = ("sync@acme.example", "Sync-pass-1", "BBBBtokenBBBB")


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., str]:
    """write_scenario(yaml_text, name="scenario") -> path of a .yml in tmp_path."""
    def write(text: str, name: str = "scenario") -> str:
        path = tmp_path / f"{name}.yml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)
    return write


@pytest.fixture
def simulator() -> Iterator[Callable[[str], Simulator]]:
    """simulator(ref_or_path) -> a started Simulator, stopped after the test."""
    started: list[Simulator] = []

    def start(ref: str) -> Simulator:
        sim = Simulator(ref)
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def tls_proxy() -> Iterator[Callable[..., TlsProxy]]:
    """tls_proxy(sim_or_url, resolves=None) -> a started TlsProxy (tests/tls_proxy.py) that
    terminates HTTPS for the real host names and forwards to that simulator; stopped after
    the test. Give a client `proxy.env()` (HTTPS_PROXY, CA bundle variables)."""
    started: list[TlsProxy] = []

    def start(sim_or_url: Simulator | str, resolves: Callable[[str], bool] | None = None) -> TlsProxy:
        url = sim_or_url if isinstance(sim_or_url, str) else sim_or_url.url
        assert url, "simulator not started"
        proxy = TlsProxy(url, resolves=resolves).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


@contextmanager
def simulator_on(text: str, folder: Path, name: str = "scenario") -> Iterator[Simulator]:
    """A Simulator started on scenario `text` (written to folder/<name>.yml) and stopped on
    leaving: the body of a module-scoped fixture whose world is its own."""
    path = folder / f"{name}.yml"
    path.write_text(text, encoding="utf-8")
    sim = Simulator(str(path))
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def base_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """One simulator on BASE_SCENARIO for a whole test module (tests that only read)."""
    with simulator_on(BASE_SCENARIO, tmp_path_factory.mktemp("scenario"), "conformance") as sim:
        yield sim


@pytest.fixture
def fresh_sim(simulator: Callable[[str], Simulator], write_scenario: Callable[..., str]) -> Simulator:
    """A simulator of its own on BASE_SCENARIO (tests that log in and change LoginHistory)."""
    return simulator(write_scenario(BASE_SCENARIO, "conformance"))


# ------------------------------------------------------------------ the browser (Debian's chromium)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def skip_without_chromium() -> None:
    """Browser tests skip on a developer machine without chromium; under CI they must run."""
    import os
    import shutil

    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)) and not os.environ.get("CI"):
        pytest.skip("Debian's chromium is not installed (make system-deps)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    """One chromium per test module (starting it costs seconds), driven by Playwright."""
    import os

    if os.environ.get("CI"):
        from playwright import sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


# ------------------------------------------------------------------ a clock tests can move
class MovableClock:
    """A World's clock that tests advance by hand (token expiry, password age, usage by day)."""

    def __init__(self, start):
        self.t = start

    def __call__(self):
        return self.t

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.t += timedelta(**delta)


def world_on_movable_clock(data: dict, start):
    """A real World from scenario `data` whose clock the test moves (`world.test_clock`)."""
    from sfdoctor.demo.scenario import parse_scenario
    from sfdoctor.demo.store import World

    clock = MovableClock(start)
    world = World(parse_scenario(data, source="test"), clock=clock)
    world.test_clock = clock  # type: ignore[attr-defined]
    return world


# ------------------------------------------------------------------ one run per built-in scenario
@pytest.fixture(scope="session")
def builtin_runs(tmp_path_factory: pytest.TempPathFactory):
    """`builtin_runs.get(scenario, lang)` / `.get_many(keys)`: the one `sfdoctor run` of a
    built-in scenario in a language this pytest session makes (shared by every xdist worker:
    tests/builtin_runs.py), for the golden test and every test that walks the scenarios."""
    import builtin_runs as runs_module

    return runs_module.BuiltinRuns(runs_module.session_cache_dir(tmp_path_factory))
