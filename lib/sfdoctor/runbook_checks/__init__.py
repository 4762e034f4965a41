"""One module per runbook, named after its id (`sia-auth-failure` -> `sia_auth_failure`).

Each module registers itself (`sfdoctor.registry.Runbook`): its checks in notebook order,
its facts, what the demo operator answers. Topic helpers several runbooks share (login
probes, permissions, SOQL and composite reads, allowlists) live in `sfdoctor.checks`.
Nothing here lists the modules: `registry.all_runbooks()` imports every one.
"""
