"""The embedded demo world: a local simulator that speaks Salesforce's, Marketo's and
Marketing Cloud's real wire formats, with its org state in SQLite loaded from a scenario.

Module map (each owns one concern):
    scenario.py   load and validate scenario YAML (spec/scenario-format.md) -> Scenario
    schema.py     sObject schemas: standard objects' fields plus a scenario's custom fields
    store.py      World: the SQLite state, the clock, login decisions, the Catalog for SOQL
    soql.py       SOQL parser (lark) and evaluator over a Catalog
    wire.py       SimRequest / SimResponse: framework-free request and response
    sf_soap.py    SOAP partner login, Metadata API readMetadata
    sf_oauth.py   /services/oauth2/token
    sf_rest.py    /services/data/... (versions, query, describe, limits, composite, tooling)
    marketo.py    Marketo identity and REST
    mcloud.py     Marketing Cloud /v2/token, SOAP Retrieve, user login
    server.py     tornado shell: routing by host/path, faults, stats, Simulator lifecycle
    runtime.py    ensure_simulator(): reuse $SFDOCTOR_DEMO_URL or start one in-process
"""
