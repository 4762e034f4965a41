"""metadata.py: readMetadata through sfdoctor's session, against the real Simulator."""
from __future__ import annotations

import pytest

from sfdoctor import clients, orgs
from sfdoctor.errors import ReadOnlyViolation
from sfdoctor.metadata import MetadataError, _convert, read_metadata

import xml.etree.ElementTree as ET


@pytest.fixture
def demo_conn(simulator, monkeypatch):
    """sfdoctor's own connection to a running Simulator on the built-in token-missing world."""
    sim = simulator("token-missing")
    monkeypatch.setattr(clients, "ensure_demo_simulator", lambda ref: sim.url)
    conn = clients.connect(orgs.resolve("demo:token-missing"))
    return conn, sim


def test_security_settings_trusted_ranges(demo_conn):
    conn, sim = demo_conn
    before = conn.counter.total
    records = read_metadata(conn, "SecuritySettings", ["Security"])
    assert len(records) == 1
    rec = records[0]
    assert rec["fullName"] == "Security"
    # one range is still a list: the WSDL says maxOccurs="unbounded"
    assert rec["networkAccess"]["ipRanges"] == [
        {"description": "Head office", "end": "198.51.100.255", "start": "198.51.100.0"}]
    assert rec["sessionSettings"]["lockSessionsToIp"] is False  # xsd:boolean -> bool
    # one call, counted by us and seen by the simulator: it went through conn.session
    assert conn.counter.total == before + 1
    assert conn.counter.by_endpoint["POST /services/Soap/m/XX"] == 1
    stats = conn.session.get(f"{sim.url}/__sfdoctor/stats").json()
    assert sum(v for k, v in stats.items() if k.startswith("POST /services/Soap/m/")) == 1


def test_missing_names_are_absent(demo_conn):
    conn, _ = demo_conn
    assert read_metadata(conn, "SecuritySettings", "Nope") == []


def test_more_than_ten_names_are_chunked(demo_conn):
    conn, _ = demo_conn
    names = ["Security"] + [f"X{i}" for i in range(14)]
    assert [r["fullName"] for r in read_metadata(conn, "SecuritySettings", names)] == ["Security"]
    assert conn.counter.by_endpoint["POST /services/Soap/m/XX"] == 2


def test_fault_becomes_metadata_error(demo_conn):
    conn, _ = demo_conn
    conn.sf.session_id = "00D000000000001!AQbogusbogusbogusbogusbogus"
    with pytest.raises(MetadataError) as exc:
        read_metadata(conn, "SecuritySettings", ["Security"])
    assert exc.value.code == "INVALID_SESSION_ID" and exc.value.status == 500
    assert "Invalid Session ID" in exc.value.one_line()


def test_write_operations_are_refused_before_sending(demo_conn):
    conn, _ = demo_conn
    body = ('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
            '<m:updateMetadata xmlns:m="http://soap.sforce.com/2006/04/metadata"/></e:Body></e:Envelope>')
    before = conn.counter.total
    with pytest.raises(ReadOnlyViolation):
        conn.session.post(f"https://{conn.instance}/services/Soap/m/59.0", data=body)
    assert conn.counter.total == before


def test_convert_uses_wsdl_types():
    el = ET.fromstring(
        '<records xmlns="http://soap.sforce.com/2006/04/metadata" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="SecuritySettings">'
        '<fullName>Security</fullName><enableAdminLoginAsAnyUser>true</enableAdminLoginAsAnyUser>'
        '<networkAccess/><unknownThing>a</unknownThing><unknownThing>b</unknownThing>'
        '<singleSignOnSettings xsi:nil="true"/></records>')
    out = _convert(el, "SecuritySettings")
    assert out == {"fullName": "Security", "enableAdminLoginAsAnyUser": True, "networkAccess": {},
                   "unknownThing": ["a", "b"], "singleSignOnSettings": None}


def test_wsdl_type_table_is_cached_and_identical(tmp_path, monkeypatch):
    """The cached table must equal a fresh parse; a cache dir we cannot write is only slower."""
    from sfdoctor import metadata

    monkeypatch.setenv("SFDOCTOR_CACHE_DIR", str(tmp_path / "cache"))
    metadata._wsdl_types.cache_clear()
    first = metadata._wsdl_types()
    files = list((tmp_path / "cache").glob("metadata-wsdl-types-*.json"))
    assert len(files) == 1
    metadata._wsdl_types.cache_clear()
    assert metadata._wsdl_types() == first == metadata._parse_wsdl_types(metadata.wsdl_path())
    assert first["IpRange"][1]["start"] == ("xsd:string", False)
    assert first["NetworkAccess"][1]["ipRanges"][1] is True

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("SFDOCTOR_CACHE_DIR", str(blocker / "cache"))
    metadata._wsdl_types.cache_clear()
    assert metadata._wsdl_types() == first
    metadata._wsdl_types.cache_clear()
