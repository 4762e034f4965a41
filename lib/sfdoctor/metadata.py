"""Metadata API `readMetadata` through sfdoctor's own session.

Why not `sf.mdapi`: simple-salesforce builds a zeep client of its own that ignores the
injected session, so its calls would bypass the demo routing, the read-only guard and the
API-call counter (spec/scenario-format.md, "Behaviour the simulator must show").

Why a hand-written envelope instead of zeep over the bundled WSDL: measured on this machine,
importing zeep and parsing `metadata.wsdl` costs ~0.55 s per process (0.24 s + 0.33 s), while
the envelope costs nothing and reading the WSDL's types with ElementTree costs ~0.05 s, done
once and only when a response is converted. Notebooks start kernels often, so that matters.
The WSDL still decides the shape of the dicts: which elements are lists (`maxOccurs=
"unbounded"`, so one trusted range is still a list) and which are booleans or numbers.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterable, TYPE_CHECKING
from xml.sax.saxutils import escape

from sfdoctor.errors import SfdoctorError

if TYPE_CHECKING:
    from .clients import Connection

METADATA_NS = "http://soap.sforce.com/2006/04/metadata"
SOAPENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
MAX_NAMES_PER_CALL = 10  # readMetadata takes at most 10 full names per call


class MetadataError(SfdoctorError):
    """A Metadata API fault (e.g. INVALID_SESSION_ID) or an unreadable answer.

    `code` is Salesforce's fault code (`INVALID_SESSION_ID`, `INSUFFICIENT_ACCESS`, ...) or
    `HTTP <status>` when the answer was not a SOAP fault.
    """

    def __init__(self, code: str, message: str, *, status: int | None = None):
        self.code = code
        self.status = status
        super().__init__(f"Metadata API {code}: {message}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def wsdl_path() -> Path:
    """The Metadata WSDL simple-salesforce ships (it is the version the client speaks)."""
    import simple_salesforce

    return Path(simple_salesforce.__file__).resolve().parent / "metadata.wsdl"


def cache_dir() -> Path:
    """Where derived, non-secret data is cached: `$SFDOCTOR_CACHE_DIR`, else the XDG cache."""
    explicit = os.environ.get("SFDOCTOR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sfdoctor"


@functools.lru_cache(maxsize=1)
def _wsdl_types() -> dict[str, tuple[str | None, dict[str, tuple[str, bool]]]]:
    """complexType name → (base type, {element: (type local name or xsd:..., is_list)}).

    Parsing the 1.5 MB WSDL costs 0.1–0.2 s, in every kernel that reads metadata; the table
    is cached as JSON keyed by the WSDL file's identity, so only the first kernel pays.
    """
    path = wsdl_path()
    if not path.is_file():  # pragma: no cover - simple-salesforce always ships it
        return {}
    stat = path.stat()
    key = hashlib.sha256(f"{path}|{stat.st_size}|{stat.st_mtime_ns}|1".encode()).hexdigest()[:16]
    cached = cache_dir() / f"metadata-wsdl-types-{key}.json"
    try:
        return {name: (base, {k: (v[0], v[1]) for k, v in fields.items()})
                for name, (base, fields) in json.loads(cached.read_text()).items()}
    except (OSError, ValueError, TypeError):
        pass
    types = _parse_wsdl_types(path)
    try:  # a cache we cannot write is only slower, never wrong
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cached.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(types, tmp)
        os.replace(tmp.name, cached)
    except OSError:
        pass
    return types


def _parse_wsdl_types(path: Path) -> dict[str, tuple[str | None, dict[str, tuple[str, bool]]]]:
    types: dict[str, tuple[str | None, dict[str, tuple[str, bool]]]] = {}
    root = ET.parse(path).getroot()
    for ctype in root.iter(f"{{{XSD_NS}}}complexType"):
        name = ctype.get("name")
        if not name:
            continue
        base = None
        ext = ctype.find(f".//{{{XSD_NS}}}extension")
        if ext is not None:
            base = (ext.get("base") or "").split(":")[-1] or None
        fields: dict[str, tuple[str, bool]] = {}
        for el in ctype.iter(f"{{{XSD_NS}}}element"):
            el_name, el_type = el.get("name"), el.get("type") or ""
            if not el_name:
                continue
            prefix, _, local = el_type.rpartition(":")
            kind = f"xsd:{local}" if prefix == "xsd" else local
            fields[el_name] = (kind, el.get("maxOccurs") == "unbounded")
        types[name] = (base, fields)
    return types


def _fields_of(type_name: str | None) -> dict[str, tuple[str, bool]]:
    types = _wsdl_types()
    fields: dict[str, tuple[str, bool]] = {}
    seen = set()
    while type_name and type_name in types and type_name not in seen:
        seen.add(type_name)
        base, own = types[type_name]
        fields = {**own, **fields}
        type_name = base
    return fields


def _scalar(text: str | None, kind: str) -> Any:
    text = text or ""
    try:
        if kind == "xsd:boolean":
            return text.strip() == "true"
        if kind in ("xsd:int", "xsd:long", "xsd:short"):
            return int(text)
        if kind == "xsd:double":
            return float(text)
    except ValueError:
        return text
    return text


def _convert(el: ET.Element, type_name: str | None) -> Any:
    """An element of WSDL type `type_name` → dict / scalar; unknown parts kept as strings."""
    if el.get(f"{{{XSI_NS}}}nil") == "true":
        return None
    xsi_type = el.get(f"{{{XSI_NS}}}type")
    if xsi_type:
        type_name = xsi_type.split(":")[-1]
    children = list(el)
    if type_name and type_name.startswith("xsd:"):
        return _scalar(el.text, type_name)
    if not children:
        # an empty complex element (`<networkAccess/>`: no ranges) reads as an empty dict
        return {} if type_name in _wsdl_types() else (el.text or "")
    fields = _fields_of(type_name)
    out: dict[str, Any] = {}
    for child in children:
        name = _local(child.tag)
        kind, is_list = fields.get(name, (None, False))
        value = _convert(child, kind)
        if is_list:
            out.setdefault(name, []).append(value)
        elif name in out:  # repeated although the WSDL does not say so: keep every value
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def _envelope(session_id: str, type_name: str, full_names: Iterable[str]) -> str:
    names = "".join(f"<met:fullNames>{escape(n)}</met:fullNames>" for n in full_names)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV_NS}" xmlns:met="{METADATA_NS}">'
        f"<soapenv:Header><met:SessionHeader><met:sessionId>{escape(session_id)}</met:sessionId>"
        "</met:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><met:readMetadata><met:type>{escape(type_name)}</met:type>{names}"
        "</met:readMetadata></soapenv:Body></soapenv:Envelope>"
    )


def _fault(root: ET.Element) -> tuple[str, str] | None:
    for el in root.iter():
        if _local(el.tag) == "Fault":
            code = (el.findtext("faultcode") or "").split(":")[-1] or "UNKNOWN"
            message = el.findtext("faultstring") or ""
            prefix = f"{code}: "
            return code, message[len(prefix):] if message.startswith(prefix) else message
    return None


def read_metadata(conn: "Connection", type_name: str, full_names: Iterable[str] | str) -> list[dict[str, Any]]:
    """`readMetadata(type_name, full_names)` → one plain dict per record that exists.

    E.g. `read_metadata(conn, "SecuritySettings", ["Security"])` →
    `[{"fullName": "Security", "networkAccess": {"ipRanges": [{"start":..., "end":...,
    "description":...}]}, ...}]`. Names that do not exist are simply absent (as Salesforce
    answers). Faults raise MetadataError; transport errors propagate as requests errors.
    """
    if isinstance(full_names, str):
        full_names = [full_names]
    names = list(full_names)
    version = conn.api_version
    url = f"https://{conn.sf.sf_instance}/services/Soap/m/{version}"
    headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}
    records: list[dict[str, Any]] = []
    for start in range(0, len(names), MAX_NAMES_PER_CALL):
        chunk = names[start:start + MAX_NAMES_PER_CALL]
        body = _envelope(conn.sf.session_id, type_name, chunk).encode("utf-8")
        resp = conn.session.post(url, data=body, headers=headers)
        try:
            root = ET.fromstring(resp.content)
        except ET.ParseError:
            raise MetadataError(f"HTTP {resp.status_code}", "the answer was not XML",
                                status=resp.status_code) from None
        fault = _fault(root)
        if fault is not None:
            raise MetadataError(fault[0], fault[1], status=resp.status_code)
        if resp.status_code != 200:
            raise MetadataError(f"HTTP {resp.status_code}", "unexpected answer", status=resp.status_code)
        for el in root.iter():
            if _local(el.tag) != "records":
                continue
            value = _convert(el, type_name)
            if isinstance(value, dict) and value.get("fullName"):
                records.append(value)
    return records
