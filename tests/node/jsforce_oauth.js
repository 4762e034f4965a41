// Drives the simulator's OAuth with the real jsforce: client credentials, JWT bearer, refresh
// token and username-password through jsforce's OAuth2 / Connection.authorize, and one
// authorize redirect from jsforce's getAuthorizationUrl. Prints one JSON line: per attempt
// either {ok, totalSize} or the error jsforce raised ({name: Salesforce's error, message:
// its error_description}), which tests/test_jsforce.py compares with Salesforce's bodies.
// Usage: node jsforce_oauth.js URL CONFIG_JSON   (CONFIG_JSON: {"attempts": [...], "key": PEM})
"use strict";
const crypto = require("crypto");
const jsforce = require("jsforce");

function b64url(data) {
  return Buffer.from(data).toString("base64").replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

function assertion(clientId, sub, aud, pem) {
  const head = b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ iss: clientId, sub, aud, exp: Math.floor(Date.now() / 1000) + 180 }));
  const signature = crypto.createSign("RSA-SHA256").update(`${head}.${body}`).sign(pem);
  return `${head}.${body}.${b64url(signature)}`;
}

async function attempt(url, a, pem) {
  const oauth2 = new jsforce.OAuth2({ loginUrl: url, clientId: a.clientId, clientSecret: a.clientSecret,
                                      redirectUri: a.redirectUri });
  const conn = new jsforce.Connection({ oauth2, loginUrl: url, version: "59.0" });
  try {
    if (a.flow === "client_credentials") {
      await conn.authorize({ grant_type: "client_credentials" });
    } else if (a.flow === "jwt_bearer") {
      await conn.authorize({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
                             assertion: assertion(a.clientId, a.username, "https://login.salesforce.com", pem) });
    } else if (a.flow === "refresh_token") {
      await oauth2.refreshToken(a.refreshToken);
      return { ok: true };
    } else if (a.flow === "password") {
      await conn.login(a.username, a.password);
    } else if (a.flow === "authorize") {
      const target = oauth2.getAuthorizationUrl({ state: "xyz", login_hint: a.username });
      const resp = await fetch(target, { redirect: "manual" });
      return { ok: resp.status === 302, location: resp.headers.get("location") };
    }
    const result = await conn.query("SELECT Id FROM User");
    return { ok: true, totalSize: result.totalSize };
  } catch (err) {
    return { ok: false, name: err.name, message: err.message };
  }
}

async function main() {
  const [url, configText] = process.argv.slice(2);
  const config = JSON.parse(configText);
  const out = {};
  for (const a of config.attempts) {
    out[a.id] = await attempt(url, a, config.key);
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  process.stderr.write(`${err.name}: ${err.message}\n${err.stack || ""}\n`);
  process.exit(1);
});
