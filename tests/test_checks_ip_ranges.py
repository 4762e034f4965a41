"""IP-range math of security-token-required (pure: no server)."""
from sfdoctor.checks import ip_ranges as ipr
from sfdoctor.runbook_checks import security_token_required as sectoken
from sfdoctor.runbook_checks.security_token_required import Facts
from sfdoctor.checks.login_history import History, group_rows


def test_in_range_inclusive_and_version_safe():
    assert ipr.in_range("198.51.100.0", "198.51.100.0", "198.51.100.255")
    assert ipr.in_range("198.51.100.255", "198.51.100.0", "198.51.100.255")
    assert not ipr.in_range("198.51.101.0", "198.51.100.0", "198.51.100.255")
    assert not ipr.in_range("2001:db8::1", "198.51.100.0", "198.51.100.255")
    assert not ipr.in_range("not-an-ip", "198.51.100.0", "198.51.100.255")


def test_covering_takes_both_field_spellings():
    trusted = [{"start": "10.0.0.0", "end": "10.0.0.9"}]
    profile = [{"StartAddress": "192.0.2.1", "EndAddress": "192.0.2.3"}]
    assert ipr.covering("10.0.0.5", trusted) == trusted[0]
    assert ipr.covering("192.0.2.3", profile) == profile[0]
    assert ipr.covering("192.0.2.4", profile) is None


def test_suggest_single_address_is_the_address_itself():
    assert ipr.suggest_ranges(["203.0.113.7", "203.0.113.7"]) == [
        {"start": "203.0.113.7", "end": "203.0.113.7", "cidr": "203.0.113.7/32", "covers": ["203.0.113.7"]}]


def test_suggest_several_in_one_network_is_its_24_and_separate_networks_stay_apart():
    out = ipr.suggest_ranges(["203.0.113.50", "203.0.113.51", "192.0.2.9", "bogus"])
    assert out == [
        {"start": "192.0.2.9", "end": "192.0.2.9", "cidr": "192.0.2.9/32", "covers": ["192.0.2.9"]},
        {"start": "203.0.113.0", "end": "203.0.113.255", "cidr": "203.0.113.0/24",
         "covers": ["203.0.113.50", "203.0.113.51"]},
    ]
    # every suggestion covers what it claims to
    for s in out:
        assert all(ipr.in_range(ip, s["start"], s["end"]) for ip in s["covers"])


def test_suggest_ipv6_groups_by_64():
    out = ipr.suggest_ranges(["2001:db8::1", "2001:db8::2"])
    assert out[0]["cidr"] == "2001:db8::/64"


def test_classify_follows_salesforce_rules():
    trusted = [{"start": "198.51.100.0", "end": "198.51.100.255"}]
    # no profile ranges: trusted or untrusted (token needed)
    assert ipr.classify(["198.51.100.20", "203.0.113.7"], trusted, []) == {
        "trusted": ["198.51.100.20"], "profile": [], "restricted": [], "untrusted": ["203.0.113.7"]}
    # profile ranges: inside passes without token, outside is refused even if org-trusted
    profile = [{"StartAddress": "192.0.2.0", "EndAddress": "192.0.2.255"}]
    assert ipr.classify(["192.0.2.5", "198.51.100.20"], trusted, profile) == {
        "trusted": [], "profile": ["192.0.2.5"], "restricted": ["198.51.100.20"], "untrusted": []}


def test_trusted_ranges_from_read_metadata_shapes():
    assert ipr.trusted_ranges({}) == []
    assert ipr.trusted_ranges({"networkAccess": None}) == []
    one = {"networkAccess": {"ipRanges": {"start": "1.1.1.0", "end": "1.1.1.255"}}}
    assert ipr.trusted_ranges(one) == [{"start": "1.1.1.0", "end": "1.1.1.255", "description": ""}]
    many = {"networkAccess": {"ipRanges": [{"start": "1.1.1.0", "end": "1.1.1.9", "description": "HQ"}]}}
    assert ipr.trusted_ranges(many)[0]["description"] == "HQ"


def _history(*rows):
    return History(groups=group_rows([dict(r, n=r.get("n", 1)) for r in rows]))


def test_relevant_ips_only_token_related_failures_plus_given_source():
    f = Facts(source_ip="192.0.2.200")
    f.history = _history(
        {"Status": "Failed: API security token required", "SourceIp": "203.0.113.7", "n": 5},
        {"Status": "Invalid Password", "SourceIp": "203.0.113.99", "n": 2},
        {"Status": "Restricted IP", "SourceIp": "203.0.113.8", "n": 1},
        {"Status": "Success", "SourceIp": "198.51.100.20", "n": 9},
    )
    assert sectoken.relevant_ips(f) == {"192.0.2.200": 0, "203.0.113.7": 5, "203.0.113.8": 1}
    f.probe_verdict = "TOKEN_INVALID"   # then "Invalid Password" rows are token failures too
    assert "203.0.113.99" in sectoken.relevant_ips(f)
