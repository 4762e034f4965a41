"""Framework-free request/response objects, so every API handler is a plain function
`handle(req: SimRequest, world: World) -> SimResponse` testable without a server."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class SimRequest:
    method: str                      # "GET", "POST", ...
    path: str                        # URL path, no query string, e.g. "/services/data/v59.0/query/"
    query: dict[str, list[str]]      # parsed query string
    headers: dict[str, str]          # header names lower-cased
    body: bytes
    host: str                        # the host the client meant: "acme.my.salesforce.com",
                                     # "login.salesforce.com", or "127.0.0.1:PORT" when reached directly
    base_url: str                    # what URLs in responses start with for this request:
                                     # "https://acme.my.salesforce.com" when re-routed,
                                     # "http://127.0.0.1:PORT" when reached directly
    direct: bool                     # True when reached as http://127.0.0.1:PORT

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class SimResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> "SimResponse":
        h = {"Content-Type": "application/json;charset=UTF-8"}
        h.update(headers or {})
        return cls(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), h)

    @classmethod
    def xml(cls, text: str, status: int = 200, headers: dict[str, str] | None = None) -> "SimResponse":
        h = {"Content-Type": "text/xml;charset=UTF-8"}
        h.update(headers or {})
        return cls(status, text.encode("utf-8"), h)
