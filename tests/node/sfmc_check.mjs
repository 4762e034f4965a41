// Drives the sfdoctor simulator with the real sfmc-sdk (npm), over HTTPS to the tenant's real
// host names through the test TLS proxy (HTTPS_PROXY, NODE_EXTRA_CA_CERTS set by the test).
// Reads the installed package's credentials from $SFMC_CHECK (JSON: client_id, client_secret,
// account_id, auth_url) so no secret is on the command line; prints one JSON line that
// tests/test_conformance_mcloud.py asserts on.
import SDK from "sfmc-sdk";

const config = JSON.parse(process.env.SFMC_CHECK || "{}");
const options = { requestAttempts: 1, retryOnConnectionError: false };

function failure(err) {
  return { name: err.name, message: err.message, code: err.code ?? null,
           status: err.response?.status ?? null, body: err.response?.data ?? null };
}

async function main() {
  const sdk = new SDK(config, options);
  const auth = await sdk.auth.getAccessToken();
  const users = await sdk.soap.retrieve("AccountUser",
    ["UserID", "Name", "ActiveFlag", "IsAPIUser", "IsLocked", "MustChangePassword"], {});
  const context = await sdk.rest.get("/platform/v1/tokenContext");

  // The same call with a token the account never issued: Marketing Cloud's 401.
  sdk.auth.authObject.access_token = "bm90LWEtdG9rZW4.bm90LWEtdG9rZW4.bm90LWEtdG9rZW4";
  let badToken = null;
  try {
    await sdk.rest.get("/platform/v1/tokenContext");
  } catch (err) {
    badToken = failure(err);
  }

  let badSecret = null;
  try {
    await new SDK({ ...config, client_secret: "not-the-secret" }, options).auth.getAccessToken();
  } catch (err) {
    badSecret = failure(err);
  }

  process.stdout.write(JSON.stringify({
    token: { type: auth.token_type, expiresIn: auth.expires_in,
             restUrl: auth.rest_instance_url, soapUrl: auth.soap_instance_url },
    users: { status: users.OverallStatus, results: users.Results },
    context,
    badToken,
    badSecret,
  }) + "\n");
}

main().catch((err) => {
  process.stderr.write(`${err.name}: ${err.message}\n${err.stack || ""}\n`);
  process.exit(1);
});
