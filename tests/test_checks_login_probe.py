"""How the two probe logins are read (pure: no server)."""
import pytest

from sfdoctor.checks.login_probe import (
    INVALID_LOGIN, PASSWORD_AND_TOKEN, PASSWORD_ONLY, RESTRICTED_IP, TOKEN_REQUIRED, Attempt, interpret, plan_second,
)


def a1(ok=False, fault=None):
    return Attempt(PASSWORD_ONLY, ok, fault)


def a2(ok=False, fault=None):
    return Attempt(PASSWORD_AND_TOKEN, ok, fault)


def test_second_attempt_only_when_it_can_tell_more():
    assert plan_second(a1(fault=TOKEN_REQUIRED), has_token=True)
    assert not plan_second(a1(fault=TOKEN_REQUIRED), has_token=False)      # nothing to append
    assert not plan_second(a1(ok=True), has_token=True)                    # trusted network
    assert not plan_second(a1(fault=INVALID_LOGIN), has_token=True)        # would only add a failure
    assert not plan_second(a1(fault=RESTRICTED_IP), has_token=True)        # a token cannot lift it
    assert not plan_second(a1(fault="INVALID_OPERATION"), has_token=True)


def test_password_alone_works_is_a_pass():
    v = interpret(a1(ok=True), None, has_token=True, state=None)
    assert v.first[0] == "pass" and v.second[0] == "skip" and v.cause is None


def test_token_required_then_token_works_is_token_missing():
    v = interpret(a1(fault=TOKEN_REQUIRED), a2(ok=True), has_token=True, state=None)
    assert v.first[:2] == ("fail", "TOKEN_MISSING") and v.second[0] == "pass" and v.cause == "TOKEN_MISSING"


def test_token_required_without_any_token_says_so():
    v = interpret(a1(fault=TOKEN_REQUIRED), None, has_token=False, state=None)
    assert v.first == ("fail", "TOKEN_MISSING", "probe_token_required_no_token")
    assert v.second == ("skip", None, "probe_no_token")


def test_token_required_then_invalid_login_is_token_invalid():
    v = interpret(a1(fault=TOKEN_REQUIRED), a2(fault=INVALID_LOGIN), has_token=True, state=None)
    assert v.first[0] == "pass" and v.second[:2] == ("fail", "TOKEN_INVALID") and v.cause == "TOKEN_INVALID"


@pytest.mark.parametrize("state,row,which", [
    (None, "Invalid Password", "password"),
    (None, None, "password"),
    (None, "Password Lockout", "locked"),
    ("frozen", "Invalid Password", "frozen"),     # UserLogin wins over the row
    ("inactive", None, "inactive"),
])
def test_invalid_login_is_password_invalid_and_says_which(state, row, which):
    v = interpret(a1(fault=INVALID_LOGIN), None, has_token=True, state=state, row_status=row)
    assert v.first[:2] == ("fail", "PASSWORD_INVALID") and v.which == which
    assert v.second[0] == "skip"


@pytest.mark.parametrize("fault,cause", [
    (RESTRICTED_IP, "SOURCE_IP_UNTRUSTED"),
    ("INVALID_OPERATION", "SOAP_LOGIN_DISABLED"),
    ("API_CURRENTLY_DISABLED", "API_NOT_ENABLED"),
    ("API_DISABLED_FOR_ORG", "API_NOT_ENABLED"),
    ("LOGIN_DURING_RESTRICTED_TIME", None),
])
def test_other_faults(fault, cause):
    v = interpret(a1(fault=fault), None, has_token=True, state=None)
    assert v.first[:2] == ("fail", cause) and v.cause == cause


def test_no_probe_is_skip():
    v = interpret(None, None, has_token=False, state=None)
    assert v.first[0] == v.second[0] == "skip"


def test_attempt_json_has_no_secret_fields():
    data = a2(fault=INVALID_LOGIN).to_json()
    assert set(data) <= {"kind", "ok", "fault", "message", "host"}
