"""Topic helpers the runbooks share: plain functions over what an org answers.

`query` (SOQL text, the one composite-request builder, `plain_record`), `permissions` (who
grants a user API Enabled), `login_probe` (SOAP login() attempts and what they mean),
`login_history` (LoginHistory aggregates and their verdict), `ip_ranges` (address ranges),
`org_info` (the org-and-user queries), `token_reset`, `soap_login`, `fields`, `mc_allowlist`,
`mc_user`. A runbook's own checks live in `sfdoctor.runbook_checks.<runbook>`
(docs/adding-a-runbook.md); nothing here knows a runbook's texts.
"""
