"""access.py: the catalog of reads, the shipped permission set and docs/permissions.md agree."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sfdoctor import access
from sfdoctor.runbooks import all_specs

ROOT = Path(__file__).resolve().parents[1]
PERMSET = ROOT / "salesforce" / "force-app" / "main" / "default" / "permissionsets" / \
    f"{access.PERMISSION_SET}.permissionset-meta.xml"
NS = {"m": "http://soap.sforce.com/2006/04/metadata"}


def test_the_permission_set_grants_exactly_the_catalogs_read_only_permissions():
    root = ET.parse(PERMSET).getroot()
    granted = {p.find("m:name", NS).text for p in root.findall("m:userPermissions", NS)
               if p.find("m:enabled", NS).text == "true"}
    assert granted == set(access.PERMISSION_SET_GRANTS)
    assert not granted & set(access.WRITE_CAPABLE)
    for obj in root.findall("m:objectPermissions", NS):
        assert obj.find("m:allowRead", NS).text == "true"
        for write in ("allowCreate", "allowEdit", "allowDelete", "modifyAllRecords"):
            assert obj.find(f"m:{write}", NS).text == "false"


def test_docs_are_made_from_the_catalog():
    """docs/permissions.md is `python -m sfdoctor.permissions_doc` (regenerate it when the catalog changes)."""
    from sfdoctor.permissions_doc import permissions_markdown

    text = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert text == permissions_markdown(all_specs())
    for read in access.READS.values():
        assert f"`{read.id}`" in text and read.source in text
    for spec in all_specs():
        assert f"### {spec.id}" in text


def test_every_read_that_needs_a_permission_says_where_a_person_looks_instead():
    for read in access.READS.values():
        if read.any_of or read.editions:
            assert read.setup("en") and read.setup("ja"), read.id
        assert read.source.startswith("https://developer.salesforce.com/"), read.id


@pytest.mark.parametrize("perms,edition,expected", [
    ({"ApiEnabled", "ViewSetup", "MonitorLoginHistory"}, "Enterprise Edition", {"user-login", "trusted-ip-ranges",
                                                                                  "oauth-tokens", "connected-apps",
                                                                                  "app-policies"}),
    ({"ApiEnabled", "ViewSetup"}, "Professional Edition", {"user-login", "login-history", "trusted-ip-ranges",
                                                            "oauth-tokens", "connected-apps", "app-policies"}),
    ({"ApiEnabled", "ModifyAllData", "ManageUsers", "CustomizeApplication"}, "Enterprise Edition",
     {"profile-ip-ranges", "permission-grants", "setup-entity-access"}),
])
def test_refused_reads(perms, edition, expected):
    refused = {r.id for r in access.READS.values() if not r.allowed(perms, edition)}
    assert refused == expected


def test_professional_edition_has_no_metadata_api_whatever_the_permissions():
    read = access.READS["trusted-ip-ranges"]
    assert read.refusal({"ApiEnabled", "ModifyAllData"}, "Professional Edition") == "edition"
    assert read.refusal({"ApiEnabled", "ModifyAllData"}, "Enterprise Edition") is None
    assert access.READS["users"].refusal(set(), None) == "api"


def test_every_runbook_names_its_reads():
    for spec in all_specs():
        reads = access.reads_of(spec)
        assert bool(reads) == ("salesforce" in spec.services), spec.id


def test_refusals_name_the_read_the_user_may_not_make():
    msg = ("\nSELECT IsFrozen FROM UserLogin\n                   ^\nERROR at Row:1:Column:20\n"
           "sObject type 'UserLogin' is not supported. If you are attempting to use a custom object, be sure to "
           "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
           "appropriate names.")
    assert access.refused_read("INVALID_TYPE", msg).id == "user-login"
    assert access.refused_read("INSUFFICIENT_ACCESS", "use of the Metadata API requires ...", metadata=True).id == \
        "trusted-ip-ranges"
    assert access.refused_read("API_DISABLED_FOR_ORG", "x", metadata=True).id == "trusted-ip-ranges"
    assert access.refused_read("INVALID_FIELD", "No such column") is None
    assert access.refused_read("INVALID_TYPE", "sObject type 'Foo__c' is not supported") is None
    assert access.refused_read("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.") is None
