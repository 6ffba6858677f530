// A real third-party relying party: panva's openid-client (npm), driven against our running
// server by tests/idp/test_e2e_openid_client.py. It plays both the app (openid-client) and
// the user's browser (fetch with a cookie jar, filling in our sign-in form), and prints one
// JSON object of what it saw. Any protocol check openid-client makes that fails throws, and
// the script exits non-zero with the error.
//
// usage: node rp.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI LOGIN PASSWORD
import * as client from 'openid-client'

const [issuer, clientId, clientSecret, redirectUri, login, password] = process.argv.slice(2)
const jar = new Map()

async function browse (url, init = {}) {
  const headers = { ...(init.headers || {}) }
  if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
  const res = await fetch(url, { ...init, headers, redirect: 'manual' })
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';')
    const [name, ...rest] = pair.split('=')
    const expired = attrs.some(a => /^\s*max-age=0\s*$/i.test(a)) ||
      attrs.some(a => /^\s*expires=Thu, 01 Jan 1970/i.test(a))
    if (expired) jar.delete(name.trim()); else jar.set(name.trim(), rest.join('='))
  }
  return res
}

function location (res) {
  if (res.status < 300 || res.status >= 400) throw new Error(`expected a redirect, got ${res.status}`)
  return new URL(res.headers.get('location'), issuer).href
}

function hiddenInputs (html) {
  const fields = {}
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[m[1]] = m[2].replace(/&amp;/g, '&').replace(/&#34;|&quot;/g, '"')
      .replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
  }
  return fields
}

// The browser: follow the app's authorization URL through our sign-in to the callback.
async function signInAndAuthorize (authorizationUrl) {
  let url = location(await browse(authorizationUrl)) // no session yet: /login?next=…
  const page = await browse(url)
  const form = hiddenInputs(await page.text())
  const body = new URLSearchParams({ ...form, login, password })
  url = location(await browse(new URL('/login', issuer), {
    method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' }
  }))
  return location(await browse(url)) // back at /authorize, now signed in: the callback
}

const out = {}
const config = await client.discovery(new URL(issuer), clientId, clientSecret,
  client.ClientSecretBasic(clientSecret), { execute: [client.allowInsecureRequests] })
client.enableNonRepudiationChecks(config) // verify ID token signatures against our JWKS
out.discovery = { issuer: config.serverMetadata().issuer }

const codeVerifier = client.randomPKCECodeVerifier()
const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier)
const state = client.randomState()
const nonce = client.randomNonce()
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid profile phone org offline_access',
  code_challenge: codeChallenge,
  code_challenge_method: 'S256',
  state,
  nonce
})
const callback = await signInAndAuthorize(authorizationUrl)
out.callback_has_iss = new URL(callback).searchParams.get('iss') === issuer

const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true
})
const claims = tokens.claims()
out.id_token = { sub: claims.sub, aud: claims.aud, nonce: claims.nonce === nonce, amr: claims.amr, sid: Boolean(claims.sid) }
out.token = { token_type: tokens.token_type, has_refresh: Boolean(tokens.refresh_token), scope: tokens.scope }

const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
out.userinfo = userinfo

const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
out.refresh = { rotated: refreshed.refresh_token !== tokens.refresh_token, has_access: Boolean(refreshed.access_token) }

out.introspection_before = (await client.tokenIntrospection(config, refreshed.access_token)).active
await client.tokenRevocation(config, refreshed.refresh_token)
out.introspection_after_revocation = (await client.tokenIntrospection(config, refreshed.access_token)).active

// Sign in again for a fresh grant, then RP-initiated logout with the new ID token.
const verifier2 = client.randomPKCECodeVerifier()
const url2 = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri, scope: 'openid', state: 's2', nonce: 'n2',
  code_challenge: await client.calculatePKCECodeChallenge(verifier2), code_challenge_method: 'S256'
})
const callback2 = location(await browse(url2)) // the browser session is still live: no sign-in
const tokens2 = await client.authorizationCodeGrant(config, new URL(callback2), {
  pkceCodeVerifier: verifier2, expectedState: 's2', expectedNonce: 'n2', idTokenExpected: true
})
const endSession = client.buildEndSessionUrl(config, {
  id_token_hint: tokens2.id_token, post_logout_redirect_uri: redirectUri, state: 'bye'
})
const afterLogout = new URL(location(await browse(endSession)))
out.logout = { redirected_to: afterLogout.origin + afterLogout.pathname, state: afterLogout.searchParams.get('state') }
out.introspection_after_logout = (await client.tokenIntrospection(config, tokens2.access_token)).active

// The session is gone: prompt=none now answers login_required at the callback.
const url3 = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri, scope: 'openid', state: 's3', prompt: 'none',
  code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
  code_challenge_method: 'S256'
})
out.after_logout_prompt_none = new URL(location(await browse(url3))).searchParams.get('error')

console.log(JSON.stringify(out))
