// Logs in to the sfdoctor simulator with the real jsforce (SOAP login, loginUrl = the
// simulator's direct URL), runs one query and a failing login, and prints one JSON line
// that tests/test_jsforce.py asserts on.
// Usage: node jsforce_check.js URL USERNAME PASSWORD_AND_TOKEN
"use strict";
const jsforce = require("jsforce");

async function main() {
  const [url, username, password] = process.argv.slice(2);
  const conn = new jsforce.Connection({ loginUrl: url, version: "59.0" });
  const info = await conn.login(username, password);
  const result = await conn.query("SELECT Id, Username FROM User");
  let failure = null;
  try {
    await new jsforce.Connection({ loginUrl: url, version: "59.0" }).login(username, "wrong-password");
  } catch (err) {
    failure = { name: err.name, message: err.message, errorCode: err.errorCode || null };
  }
  process.stdout.write(JSON.stringify({
    instanceUrl: conn.instanceUrl,
    userId: info.id,
    organizationId: info.organizationId,
    totalSize: result.totalSize,
    usernames: result.records.map((r) => r.Username),
    failure,
  }) + "\n");
}

main().catch((err) => {
  process.stderr.write(`${err.name}: ${err.message}\n${err.stack || ""}\n`);
  process.exit(1);
});
