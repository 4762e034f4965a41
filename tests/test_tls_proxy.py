"""tests/tls_proxy.py, the fixture the conformance and real-org tests reach the simulator through:
real TLS for the real host names with a CA made at test time, DNS played by `resolves`."""
from __future__ import annotations

import socket
import ssl

import pytest
import requests

from sfdoctor.demo.store import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET


def test_https_to_the_real_host_name_reaches_the_simulator(base_sim, tls_proxy):
    proxy = tls_proxy(base_sim)
    with requests.Session() as s:
        s.trust_env = False
        s.proxies = {"https": proxy.proxy_url}
        resp = s.post("https://acme.my.salesforce.com/services/oauth2/token", verify=str(proxy.ca_pem), data={
            "grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})
        assert resp.status_code == 200
        assert resp.json()["instance_url"] == "https://acme.my.salesforce.com"   # the simulator saw the real Host
        with pytest.raises(requests.exceptions.SSLError):       # the test CA is trusted only when given
            s.get("https://acme.my.salesforce.com/services/data/", verify=True)
    assert proxy.hosts() == ["acme.my.salesforce.com"]


def test_a_host_that_does_not_resolve_is_a_bad_gateway(base_sim, tls_proxy):
    proxy = tls_proxy(base_sim, resolves=lambda host: host != "nope.my.salesforce.com")
    with requests.Session() as s:
        s.trust_env = False
        s.proxies = {"https": proxy.proxy_url}
        with pytest.raises(requests.exceptions.ProxyError, match="502"):
            s.get("https://nope.my.salesforce.com/services/data/", verify=str(proxy.ca_pem))


def test_only_connect_is_served(base_sim, tls_proxy):
    proxy = tls_proxy(base_sim)
    host, port = proxy.proxy_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET http://acme.my.salesforce.com/ HTTP/1.1\r\nHost: acme.my.salesforce.com\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 405")
    assert proxy.env()["NODE_EXTRA_CA_CERTS"] == str(proxy.ca_pem)
    ssl.create_default_context(cafile=str(proxy.ca_pem))        # a CA bundle every client can load
