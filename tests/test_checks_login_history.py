"""LoginHistory grouping and its verdict (pure: no server)."""
import re

import pytest

from sfdoctor.checks import login_history as lh
from sfdoctor.checks import org_info, soap_login
from sfdoctor.runbook_checks import security_token_required as sectoken
from sfdoctor.runbook_checks.security_token_required import Facts
from datetime import datetime, timezone, timedelta


@pytest.mark.parametrize("status,cat", [
    ("Success", lh.SUCCESS),
    ("Failed: API security token required", lh.TOKEN_REQUIRED),
    ("Invalid Password", lh.INVALID_PASSWORD),
    ("Password Lockout", lh.LOCKED),
    ("User is Frozen", lh.FROZEN), ("User Is Frozen", lh.FROZEN),
    ("User is Inactive", lh.INACTIVE),
    ("Restricted IP", lh.RESTRICTED_IP),
    ("Failed: Computer activation required", lh.OTHER),
    (None, lh.OTHER),
])
def test_category(status, cat):
    assert lh.category(status) == cat


def test_queries_never_filter_on_status_and_aggregate():
    now = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    qs = lh.queries("005000000000001AAA", now - timedelta(days=7), now)
    for q in qs.values():
        where = q.split("WHERE", 1)[1]
        assert not re.search(r"\bStatus\b", where.split("GROUP BY")[0].split("ORDER BY")[0])
    assert "GROUP BY Status, SourceIp, Application, ApiType, LoginType" in qs["user"]
    assert "COUNT(Id) n" in qs["user"] and "LoginTime >= 2026-11-13T09:00:00Z" in qs["user"]
    assert "LIMIT 2000" in qs["recent"]
    assert set(lh.queries(None, now, now)) == {"org"}


def test_org_queries_quote_the_username():
    qs = org_info.queries("o'brien@acme.example")
    assert "'o\\'brien@acme.example'" in qs["user"] and "o'brien@" not in qs["user"].replace("\\'", "")


def _h(*rows):
    return lh.History(groups=lh.group_rows([dict(r) for r in rows]))


def test_verdicts():
    ok = _h({"Status": "Success", "SourceIp": "1.1.1.1", "n": 3})
    assert lh.verdict(ok, None)[:2] == ("pass", None)
    assert lh.verdict(lh.History(), None)[0] == "manual"
    assert lh.verdict(lh.History(), "SOAP_LOGIN_DISABLED")[0] == "pass"
    tok = _h({"Status": "Failed: API security token required", "SourceIp": "2.2.2.2", "n": 4,
              "lastLogin": "2026-11-20T08:00:00.000+0000"},
             {"Status": "Invalid Password", "SourceIp": "2.2.2.2", "n": 9, "lastLogin": "2026-11-19T08:00:00.000+0000"})
    assert lh.verdict(tok, None)[:2] == ("fail", "TOKEN_MISSING")   # the latest failure wins
    bad = _h({"Status": "Invalid Password", "SourceIp": "2.2.2.2", "n": 1})
    assert lh.verdict(bad, "TOKEN_INVALID")[:2] == ("fail", "TOKEN_INVALID")
    assert lh.verdict(bad, "PASSWORD_INVALID")[3]["which"] == "password"
    assert lh.verdict(bad, None)[3]["which"] == "password_or_token"
    locked = _h({"Status": "Password Lockout", "SourceIp": "2.2.2.2", "n": 1})
    assert lh.verdict(locked, None)[:2] == ("fail", "PASSWORD_INVALID")
    assert lh.verdict(_h({"Status": "Restricted IP", "n": 1}), None)[1] == "SOURCE_IP_UNTRUSTED"
    assert lh.verdict(_h({"Status": "Restricted Time", "n": 1}), None)[:2] == ("fail", None)


def test_failing_ips_sums_and_orders():
    h = _h({"Status": "Invalid Password", "SourceIp": "a", "n": 1},
           {"Status": "Failed: API security token required", "SourceIp": "b", "n": 5},
           {"Status": "Failed: API security token required", "SourceIp": "a", "n": 1, "Application": "x"},
           {"Status": "Success", "SourceIp": "c", "n": 50})
    assert h.failing_ips() == {"b": 5, "a": 2}
    assert h.failing_ips({lh.TOKEN_REQUIRED}) == {"b": 5, "a": 1}


def test_failures_by_time_buckets_per_hour_or_day():
    rows = [{"time": "2026-11-20T09:10:00.000+0000", "status": "Invalid Password"},
            {"time": "2026-11-20T09:50:00.000+0000", "status": "Invalid Password"},
            {"time": "2026-11-20T11:00:00.000+0000", "status": "Success"},
            {"time": "2026-11-20T12:00:00.000+0000", "status": "Password Lockout"}]
    for r in rows:
        r["category"] = lh.category(r["status"])
    unit, buckets = lh.failures_by_time(rows)
    assert unit == "hour"
    assert buckets == [("2026-11-20 09:00", {"Invalid Password": 2}), ("2026-11-20 12:00", {"Password Lockout": 1})]
    rows.append({"time": "2026-11-15T12:00:00.000+0000", "status": "Invalid Password", "category": lh.INVALID_PASSWORD})
    assert lh.failures_by_time(rows)[0] == "day"
    assert lh.failures_by_time([]) == ("day", [])


def test_figure_and_table():
    f = Facts()
    f.history = _h({"Status": "Failed: API security token required", "SourceIp": "b", "n": 5})
    f.history.recent = [{"time": "2026-11-20T09:10:00.000+0000", "status": "Failed: API security token required",
                         "category": lh.TOKEN_REQUIRED}]
    for lang in ("en", "ja"):
        assert sectoken.failures_figure(f, lang) is not None
        svg = sectoken.failures_svg(f, lang)
        assert svg.startswith("<svg") and svg.count("<rect") == 2 and "Failed: API security token required" in svg
        df = sectoken.table(f, lang)
        assert len(df) == 1 and df.iloc[0, -2] == 5
        html = sectoken.table_html(f, lang, failures_only=True)
        assert html.count("<tr>") == 2 and "<td>5</td>" in html


def test_no_failures_no_plot():
    f = Facts()
    assert sectoken.failures_svg(f) is None and sectoken.failures_figure(f) is None
    f.history = _h({"Status": "Success", "n": 1})
    f.history.recent = [{"time": "2026-11-20T09:10:00.000+0000", "status": "Success", "category": lh.SUCCESS}]
    assert sectoken.failures_svg(f) is None


def test_soap_groups():
    groups = lh.group_rows([
        {"Status": "Failed: API security token required", "ApiType": "SOAP Partner", "n": 3},
        {"Status": "Success", "LoginType": "Other Apex API", "n": 2},
        {"Status": "Success", "LoginType": "Remote Access 2.0", "ApiType": "N/A", "n": 7},
    ])
    assert soap_login.soap_groups(groups)[:2] == (3, 2)


def test_token_failures_by_user_ranks_users_by_token_failures_then_the_latest():
    """Only "security token required" rows count; the most first, a tie goes to the latest failure."""
    rows = [
        {"UserId": "005A", "Status": "Failed: API security token required", "n": 3, "lastLogin": "2026-12-01T10:00:00Z"},
        {"UserId": "005A", "Status": "Success", "n": 50, "lastLogin": "2026-12-02T10:00:00Z"},
        {"UserId": "005B", "Status": "Failed: API security token required", "n": 3, "lastLogin": "2026-12-03T10:00:00Z"},
        {"UserId": "005C", "Status": "Invalid Password", "n": 9, "lastLogin": "2026-12-03T10:00:00Z"},
        {"UserId": "005D", "Status": "Failed: API security token required", "expr0": 7, "lastLogin": "2026-11-30T00:00:00Z"},
        {"UserId": "005D", "Status": "Failed: API security token required", "n": 1, "lastLogin": "2026-12-04T00:00:00Z"},
    ]
    assert lh.token_failures_by_user(rows) == [("005D", 8, "2026-12-04T00:00:00Z"), ("005B", 3, "2026-12-03T10:00:00Z"),
                                               ("005A", 3, "2026-12-01T10:00:00Z")]
    assert lh.token_failures_by_user([r for r in rows if r["UserId"] == "005C"]) == []
    assert "GROUP BY UserId, Status" in lh.failures_by_user_query("2026-12-01T00:00:00Z", "2026-12-08T00:00:00Z")


@pytest.mark.parametrize("lang,day,hour,last", [
    ("en", "Nov 20", "Nov 20 09:00", "Nov 20, 2026 09:10 UTC"),
    ("ja", "11月20日", "11月20日 09:00", "2026年11月20日 09:10 UTC")])
def test_the_table_and_the_chart_say_their_times_in_the_runs_language(lang, day, hour, last):
    f = Facts()
    f.history = _h({"Status": "Failed: API security token required", "SourceIp": "b", "n": 5,
                    "lastLogin": "2026-11-20T09:10:00.000+0000"})
    f.history.recent = [{"time": "2026-11-20T09:10:00.000+0000", "status": "Failed: API security token required",
                         "category": lh.TOKEN_REQUIRED}]
    assert f"<td>{last}</td>" in sectoken.table_html(f, lang) and "T09:10" not in sectoken.table_html(f, lang)
    svg = sectoken.failures_svg(f, lang)
    assert f">{hour}</text>" in svg and f"<title>{hour}: 1 " in svg and "2026-11-20" not in svg
    f.history.recent.append({"time": "2026-11-15T12:00:00.000+0000", "status": "Invalid Password",
                             "category": lh.INVALID_PASSWORD})
    assert f">{day}</text>" in sectoken.failures_svg(f, lang)
