"""The simulator's HTTP shell: tornado on 127.0.0.1, routing by path, faults, stats.

Why tornado in a daemon thread with its own IOLoop: a notebook kernel, a pytest process
or `sfdoctor run` all need a real HTTP server next to them (the unmodified clients must
talk over real sockets), without an event loop of their own being disturbed. Handlers are
async so an injected `delay:` never holds up other requests.

Routing: the Host header says which host the client meant (the client's transport adapter
re-routes `https://acme.my.salesforce.com/...` to us and keeps that Host), so every
response can name the host the client believes it is talking to. A client that reaches the
simulator directly (`http://127.0.0.1:PORT`) gets URLs that point back to the simulator.

Thread safety: the World keeps its state in SQLite and is not re-entrant; every call into
a handler (and so into the world) holds `Simulator.lock`.
"""
from __future__ import annotations

import asyncio
import importlib
import json
import re
import socket
import struct
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, Callable

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

from . import faults as _faults
from .info import (ConnectedAppState, DataCloudInfo, DemoInfo, IpAllowlist, IpRange, MarketingCloudInfo,
                   MarketingCloudUser, MarketoInfo, MarketoSync, OAuthApp, PasswordPolicy, SalesforceUser)
from .wire import SimRequest, SimResponse

__all__ = ["Simulator", "serve_forever", "normalize_path", "DEFAULT_SCENARIO"]

# The scenario `sfdoctor demo serve` and `ensure_simulator(None)` use when none is named.
DEFAULT_SCENARIO = "token-missing"

# Handler modules in dispatch order. marketo/mcloud are built by other engineers and are
# imported lazily, so the simulator serves Salesforce even before they exist.
_HANDLER_MODULES = ("sf_soap", "sf_oauth", "sf_rest", "marketo", "mcloud")

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")

_SALESFORCE_SUFFIXES = (".salesforce.com", ".force.com")
_SLASHES_RE = re.compile(r"/{2,}")

_VERSION_RE = re.compile(r"^v?\d+\.\d+$")
_LOCATOR_RE = re.compile(r"^01g[A-Za-z0-9]{12,15}-\d+$")
_SFID_RE = re.compile(r"^(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def normalize_path(path: str) -> str:
    """`/services/data/v59.0/query/` -> `/services/data/vXX.X/query`; ids -> `{id}`.

    The stats must group an audit's calls by endpoint, not by API version, record id or
    query cursor, and `query` and `query/` are the same resource."""
    parts = []
    for segment in path.split("/"):
        if _VERSION_RE.match(segment):
            parts.append("vXX.X" if segment.startswith("v") else "XX.X")
        elif _LOCATOR_RE.match(segment) or _SFID_RE.match(segment):
            parts.append("{id}")
        else:
            parts.append(segment)
    normalized = "/".join(parts)
    if len(normalized) > 1:
        normalized = normalized.rstrip("/")
    return normalized or "/"


def _load_world(scenario_ref: str | None) -> Any:
    """Scenario -> World. Imported here so a missing or broken store fails loudly at start."""
    from .scenario import load_scenario  # noqa: PLC0415 - contract module of another engineer
    from .store import World  # noqa: PLC0415

    return World(load_scenario(scenario_ref or DEFAULT_SCENARIO))


class _CatchAll(tornado.web.RequestHandler):
    """One handler for every path: builds a SimRequest and lets the Simulator answer."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def initialize(self, sim: "Simulator") -> None:  # noqa: D401 - tornado hook
        self.sim = sim

    def set_default_headers(self) -> None:
        # tornado's own Server header and text/html default would betray the simulator.
        self.clear_header("Server")
        self.clear_header("Content-Type")

    def check_xsrf_cookie(self) -> None:  # APIs have no XSRF cookie
        return None

    async def _serve(self, *_: Any) -> None:
        req = self.sim.build_request(
            method=self.request.method or "GET",
            path=self.request.path,
            query=self.request.query_arguments,
            headers={k.lower(): v for k, v in self.request.headers.get_all()},
            body=self.request.body or b"",
            host=self.request.headers.get("Host", self.request.host),
        )
        outcome = await self.sim.answer(req)
        if outcome is None:  # reset: drop the connection without an answer
            self._drop_connection()
            return
        self.set_status(outcome.status)
        for name, value in outcome.headers.items():
            self.set_header(name, value)
        if self.request.method != "HEAD":
            self.write(outcome.body)
        await self.finish()

    def _drop_connection(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0), which clients see as 'connection reset'."""
        stream = self.request.connection.stream  # type: ignore[union-attr]
        sock = stream.socket
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        stream.close()
        self._finished = True  # tornado must not try to write a response

    get = head = post = delete = patch = put = options = _serve  # type: ignore[assignment]

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[override]
        # The client gets a 500 and reports it; a traceback on the stderr of `sfdoctor run`
        # (where this simulator runs in-process) would break its one-line messages.
        # `sfdoctor demo serve` (verbose: it logs every request) shows them.
        if self.sim.verbose:
            super().log_exception(typ, value, tb)


def _warm_imports() -> None:
    from . import soql  # noqa: F401, PLC0415


class Simulator:
    """The demo world on a loopback port.

    `Simulator("token-missing").start()` returns `http://127.0.0.1:PORT`; `.world` is the
    World (hold `.lock` when touching it from another thread), `.stop()` shuts it down.
    """

    def __init__(self, scenario_ref: str | None = None, *, port: int = 0, verbose: bool = False,
                 world: Any | None = None, log_mask: Callable[[str], str] | None = None):
        self.scenario_ref = scenario_ref
        self.world = world if world is not None else _load_world(scenario_ref)
        self.lock = threading.RLock()
        self.verbose = verbose
        self.log_mask = log_mask
        self.port = port
        self.url: str | None = None
        self.faults = _faults.FaultPlan(self._scenario_faults())
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._handlers: list[tuple[str, Callable[[SimRequest, Any], SimResponse | None]]] | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Bind 127.0.0.1 (free port unless one was given), serve in a daemon thread."""
        if self.url:
            return self.url
        sockets = tornado.netutil.bind_sockets(self.port, "127.0.0.1", family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"sfdoctor-world-{self.port}")
        self._started.clear()
        self._thread = threading.Thread(target=self._run, args=(sockets,), daemon=True,
                                        name=f"sfdoctor-simulator-{self.port}")
        self._thread.start()
        self._started.wait(10)
        if self._start_error is not None:
            raise self._start_error
        # The first query would otherwise pay for importing the SOQL engine (lark and its
        # grammar tables, ~0.2 s); warm it while the client side (a kernel) is still starting.
        threading.Thread(target=_warm_imports, daemon=True, name="sfdoctor-simulator-warm").start()
        return self.url

    def _run(self, sockets: list[socket.socket]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            app = tornado.web.Application([(r"/.*", _CatchAll, {"sim": self})],
                                          compress_response=False, log_function=self._log)
            self._server = tornado.httpserver.HTTPServer(app, xheaders=False, max_body_size=64 << 20)
            self._server.add_sockets(sockets)
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._start_error = exc
            self._started.set()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self) -> None:
        """Stop serving; pending (delayed) requests are cancelled. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.stop()
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current:
                    task.cancel()
            if self._server is not None:
                try:
                    await asyncio.wait_for(self._server.close_all_connections(), 2)
                except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - best effort on shutdown
                    pass
            loop.stop()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop)
        except RuntimeError:
            return
        thread.join(5)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._loop = None
        self._thread = None
        self.url = None

    def __enter__(self) -> "Simulator":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _log(self, handler: tornado.web.RequestHandler) -> None:
        if self.verbose:
            print(self.log_line(handler.get_status(), handler.request.method or "GET",
                                handler.request.headers.get("Host", ""), handler.request.uri or "/"),
                  file=sys.stderr, flush=True)

    def log_line(self, status: int, method: str, host: str, uri: str) -> str:
        """One request as `sfdoctor demo serve` logs it. A client may send a secret in the
        query string (Marketo's identity call does), so the line goes through `log_mask`
        (the CLI passes sfdoctor's report scrubber); without one the query string is left out."""
        if self.log_mask is None:
            return f"{status} {method} {host}{uri.split('?', 1)[0]}"
        return self.log_mask(f"{status} {method} {host}{uri}")

    # ------------------------------------------------------------------ requests
    def _scenario_faults(self) -> list[Any]:
        scenario = getattr(self.world, "scenario", None)
        return list(getattr(scenario, "faults", None) or [])

    def build_request(self, *, method: str, path: str, query: dict[str, list[bytes]] | dict[str, list[str]],
                      headers: dict[str, str], body: bytes, host: str) -> SimRequest:
        """SimRequest with `direct`/`base_url` derived from the Host header."""
        host = (host or f"127.0.0.1:{self.port}").strip()
        if host.endswith(":443"):
            host = host[:-4]
        hostname = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        direct = hostname.lower() in _LOOPBACK_NAMES
        base_url = f"http://{host}" if direct else f"https://{host}"
        decoded = {k: [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in vs]
                   for k, vs in query.items()}
        if "//" in path and (direct or hostname.lower().endswith(_SALESFORCE_SUFFIXES)):
            # Salesforce serves `//services/data/...` (the CLI's trailing-slash instance URL)
            # as `/services/data/...`: docs/simulator.md.
            path = _SLASHES_RE.sub("/", path)
        return SimRequest(method=method.upper(), path=path, query=decoded, headers=headers, body=body,
                          host=host, base_url=base_url, direct=direct)

    async def answer(self, req: SimRequest) -> SimResponse | None:
        """Simulator endpoints, then faults, then the API handlers; None means reset."""
        if req.path.startswith("/__sfdoctor/"):
            # Simulator-only: never counted, never faulted. Paths other than stats/info/reset
            # belong to a handler (e.g. mcloud's /__sfdoctor/mc/user-login).
            own = self._sim_endpoint(req)
            if own is not None:
                return own
            return await asyncio.get_running_loop().run_in_executor(self._executor, self.dispatch, req)
        with self._stats_lock:
            self.stats[f"{req.method} {normalize_path(req.path)}"] += 1
        kind = _faults.api_kind(req.host, req.path)
        fault = self.faults.pick(req.method, req.path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.reset:
                return None
            if fault.error:
                return _faults.error_response(kind, fault.error)
            if fault.status is not None:
                return _faults.status_response(kind, fault.status)
        # Off the IOLoop thread: a 200,000-row query must not hold up delayed requests or
        # the simulator endpoints; the world lock still serializes world access.
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.dispatch, req)

    def handlers(self) -> list[tuple[str, Callable[[SimRequest, Any], SimResponse | None]]]:
        """The API handler modules present in this checkout, in dispatch order."""
        if self._handlers is None:
            found = []
            for name in _HANDLER_MODULES:
                try:
                    module: ModuleType = importlib.import_module(f"{__package__}.{name}")
                except ModuleNotFoundError as exc:
                    if exc.name == f"{__package__}.{name}":
                        continue  # not built yet: skip, do not block Salesforce
                    raise
                found.append((name, module.handle))
            self._handlers = found
        return self._handlers

    def dispatch(self, req: SimRequest) -> SimResponse:
        """Ask each handler in turn (holding the world lock); 404 in the API's style."""
        with self.lock:
            for _name, handle in self.handlers():
                response = handle(req, self.world)
                if response is not None:
                    return response
        return _faults.not_found_response(_faults.api_kind(req.host, req.path), req.method, req.path)

    # ------------------------------------------------------------------ /__sfdoctor/
    def _sim_endpoint(self, req: SimRequest) -> SimResponse | None:
        """stats, info, reset; None for any other /__sfdoctor/ path."""
        name = req.path.rstrip("/")
        if name == "/__sfdoctor/stats" and req.method == "GET":
            return SimResponse.json(self.stats_snapshot())
        if name == "/__sfdoctor/info" and req.method == "GET":
            # Demo-world secrets: the simulator binds 127.0.0.1 only, so only loopback
            # clients can ever read them.
            with self.lock:
                return SimResponse.json(self.info().to_json())
        if name == "/__sfdoctor/reset" and req.method == "POST":
            with self._stats_lock:
                self.stats.clear()
            self.faults.reset_counts()
            return SimResponse.json({"reset": True})
        return None

    def stats_snapshot(self) -> dict[str, int]:
        """`{"total": N, "GET /services/data/vXX.X/query": n, ...}` (simulator endpoints excluded)."""
        with self._stats_lock:
            snapshot = dict(sorted(self.stats.items()))
        return {"total": sum(snapshot.values()), **snapshot}

    def info(self) -> DemoInfo:
        """The info document (demo/info.py): what a demo client needs to connect, and the
        world's facts a real operator would know."""
        from . import mcloud, store  # noqa: PLC0415
        from .oauth_apps import consumer_key_for, consumer_secret_for  # noqa: PLC0415

        world = self.world
        scenario = world.scenario
        sf = scenario.salesforce
        blocked = {a.name: a.blocked for a in sf.connected_apps}
        blocked.update({t.app: blocked.get(t.app, False) for t in sf.oauth_tokens})
        mkto = scenario.marketo
        mc = scenario.marketing_cloud
        dc = scenario.data_cloud
        last_synced = world.at(mkto.sync.last_synced_at)
        return DemoInfo(
            scenario=scenario.name,
            runbook=scenario.runbook,
            description=scenario.description,
            url=self.url,
            my_domain_host=world.my_domain_host,
            login_host=world.login_host,
            sandbox=bool(world.is_sandbox),
            sandbox_name=world.sandbox_name,
            client_ip=str(world.client_ip),
            org_id=world.org_id,
            oauth=OAuthApp(store.DEMO_CLIENT_ID, store.DEMO_CLIENT_SECRET),
            salesforce_users=tuple(SalesforceUser(u.username, u.password, world.token_for(u.username), u.admin)
                                   for u in sf.users),
            connected_apps=tuple(
                ConnectedAppState(a.name, a.blocked, a.installed, consumer_key_for(a), consumer_secret_for(a))
                for a in sf.connected_apps) + tuple(
                ConnectedAppState(name, flag) for name, flag in blocked.items()
                if name not in {a.name for a in sf.connected_apps}),
            marketo=MarketoInfo(
                munchkin_id=mkto.munchkin_id, host=f"{mkto.munchkin_id}.mktorest.com",
                client_id=mkto.client_id, client_secret=mkto.client_secret,
                sync=MarketoSync(mkto.sync.status, _iso(last_synced), mkto.sync.sandbox)),
            marketing_cloud=MarketingCloudInfo(
                subdomain=mc.subdomain, account_id=mcloud.DEMO_MID,
                auth_host=f"{mc.subdomain}{mcloud.AUTH_HOST_SUFFIX}",
                soap_host=f"{mc.subdomain}{mcloud.SOAP_HOST_SUFFIX}",
                rest_host=f"{mc.subdomain}{mcloud.REST_HOST_SUFFIX}",
                client_id=mc.client_id, client_secret=mc.client_secret,
                users=tuple(MarketingCloudUser(u.username, u.password) for u in mc.users),
                ip_allowlist=IpAllowlist(mc.ip_allowlist.enabled,
                                         tuple(IpRange(str(r.start), str(r.end), r.description)
                                               for r in mc.ip_allowlist.ranges)),
                password_policy=PasswordPolicy(mc.password_policy.expire_days,
                                               mc.password_policy.exclude_api_users)),
            data_cloud=DataCloudInfo(tuple(str(ip) for ip in dc.egress_ips), dc.marketing_cloud_username),
            operator_overrides=json.loads(json.dumps(_plain(scenario.operator) or {}, default=_jsonable)),
        )


def _iso(moment: Any) -> str | None:
    return None if moment is None else _jsonable(moment)


def _jsonable(value: Any) -> Any:
    """pydantic models, datetimes, ip addresses -> JSON."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def serve_forever(scenario_ref: str | None = None, port: int = 0, *, verbose: bool = True,
                  log_mask: Callable[[str], str] | None = None) -> None:
    """`sfdoctor demo serve`: run in the foreground until Ctrl-C, printing the URL first.
    `log_mask` masks secrets in each request's log line (see `Simulator.log_line`)."""
    sim = Simulator(scenario_ref, port=port, verbose=verbose, log_mask=log_mask)
    url = sim.start()
    name = getattr(sim.world.scenario, "name", scenario_ref)
    print(f"sfdoctor demo simulator ({name}) listening on {url}", file=sys.stderr, flush=True)
    print(f"export SFDOCTOR_DEMO_URL={url}", file=sys.stderr, flush=True)
    print(url, flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr, flush=True)
    finally:
        sim.stop()
