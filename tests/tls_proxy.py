"""A local HTTPS forward proxy that terminates TLS for the real host names, for the tests.

Clients that no one here wrote (the Salesforce CLI, sfmc-sdk, marketorestpython, and
sfdoctor's own real-org path) must reach `https://acme.my.salesforce.com`,
`https://123-ABC-456.mktorest.com`, `https://mc....auth.marketingcloudapis.com` unchanged.
They all honour `HTTPS_PROXY`: they send `CONNECT host:443` to this proxy, which answers
`200`, speaks TLS to them with a certificate for that host signed by a CA made at start
(trustme; clients trust it through `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE` /
`NODE_EXTRA_CA_CERTS`), and pumps the decrypted HTTP/1.1 bytes to the simulator. The client's
`Host` header travels unchanged, so the simulator answers as the host the client meant.

    with TlsProxy(sim.url) as proxy:
        subprocess.run(cmd, env={**os.environ, **proxy.env()})

`resolves(host) -> bool` plays DNS: a CONNECT to a host it refuses is answered `502 Bad
Gateway`, as a forward proxy answers when the name does not resolve. Only loopback is used.
"""
from __future__ import annotations

import asyncio
import contextlib
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import trustme

__all__ = ["TlsProxy"]


class TlsProxy:
    """HTTP CONNECT proxy on 127.0.0.1 that terminates TLS and forwards to `upstream_url`."""

    def __init__(self, upstream_url: str, *, resolves: Callable[[str], bool] | None = None):
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"upstream must be http://HOST:PORT, got {upstream_url!r}")
        self.upstream = (parts.hostname, parts.port)
        self.resolves = resolves or (lambda host: True)
        self.ca = trustme.CA(organization_name="sfdoctor test CA")
        self._dir = tempfile.TemporaryDirectory(prefix="sfdoctor-tls-")
        self.ca_pem = Path(self._dir.name) / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))
        self.connects: list[str] = []       # every CONNECT target, "host:port", in order
        self.proxy_url = ""
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "TlsProxy":
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                failure.append(exc)
                ready.set()
                return
            port = self._server.sockets[0].getsockname()[1]
            self.proxy_url = f"http://127.0.0.1:{port}"
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="sfdoctor-tls-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is not None and server is not None and not loop.is_closed():
            async def shutdown() -> None:
                server.close()
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                loop.stop()
            asyncio.run_coroutine_threadsafe(shutdown(), loop)
            if self._thread is not None:
                self._thread.join(5)
        self._loop = self._server = None
        self._dir.cleanup()

    def __enter__(self) -> "TlsProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ what clients need
    def env(self) -> dict[str, str]:
        """Environment for a client process (Python requests, Node undici/axios, curl)."""
        ca = str(self.ca_pem)
        return {
            "HTTPS_PROXY": self.proxy_url, "https_proxy": self.proxy_url,
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "REQUESTS_CA_BUNDLE": ca, "SSL_CERT_FILE": ca, "NODE_EXTRA_CA_CERTS": ca,
        }

    def hosts(self) -> list[str]:
        """The host names clients tunnelled to, in order, without repeats."""
        return list(dict.fromkeys(target.rsplit(":", 1)[0] for target in self.connects))

    # ------------------------------------------------------------------ the proxy
    def _context(self, host: str) -> ssl.SSLContext:
        ctx = self._contexts.get(host)
        if ctx is None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.set_alpn_protocols(["http/1.1"])
            self.ca.issue_cert(host).configure_cert(ctx)
            self._contexts[host] = ctx
        return ctx

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, _, rest = request_line.partition(" ")
            target = rest.split(" ", 1)[0]
            if method.upper() != "CONNECT" or ":" not in target:
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            host = target.rsplit(":", 1)[0].strip("[]").lower()
            self.connects.append(target.lower())
            if not self.resolves(host):
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            try:
                await writer.start_tls(self._context(host))
            except (ssl.SSLError, ConnectionError, OSError):
                return   # the client refused our certificate: its own error says so
            up_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
            await asyncio.gather(_pump(reader, upstream_writer), _pump(up_reader, writer))
        except (ConnectionError, OSError):
            pass
        finally:
            for w in (upstream_writer, writer):
                if w is not None:
                    with contextlib.suppress(Exception):
                        w.close()


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy bytes until the source ends, then half-close the sink."""
    try:
        while True:
            chunk = await source.read(65536)
            if not chunk:
                break
            sink.write(chunk)
            await sink.drain()
    except (ConnectionError, OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if sink.can_write_eof():
                sink.write_eof()
            else:
                sink.close()
