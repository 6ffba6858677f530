// The peer of bench/oidc_tokens.py: panva's certified oidc-provider, in memory, issuing
// ES256 JWT access tokens (RFC 9068) by the client credentials grant, as ours does.
// usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET
import { generateKeyPairSync } from 'node:crypto'
import Provider from 'oidc-provider'

const [port, clientId, clientSecret] = process.argv.slice(2)
const issuer = `http://127.0.0.1:${port}`
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench' }
const resource = 'urn:bench:directory'

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
    scope: 'directory'
  }],
  scopes: ['directory'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'directory',
        audience: resource,
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } }
      })
    }
  }
})
provider.listen(Number(port), '127.0.0.1', () => console.log(`listening ${issuer}`))
