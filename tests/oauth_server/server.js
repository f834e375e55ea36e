// Runs panva's oidc-provider (a certified open-source OAuth 2.0 / OpenID Connect server) on 127.0.0.1
// for the tests: authorization code + PKCE for the desktop app, refresh tokens, short-lived access
// tokens, revocation, and introspection for the partner simulator that checks bearer tokens.
//
//   node server.js            listens on an ephemeral port and prints "READY <port>" on stdout
//
// Environment: ACCESS_TOKEN_TTL (seconds, default 30; 2 s for tokens with the scope "short-lived", so
// tests can watch one expire), PARTNER_SECRET (the partner API's client
// secret for introspection). Logins go through oidc-provider's own development interactions (a
// login form and a consent form), which the tests submit over HTTP like a browser would.
import http from 'node:http';
import Provider from 'oidc-provider';

const accessTtl = Number(process.env.ACCESS_TOKEN_TTL || 30);
const partnerSecret = process.env.PARTNER_SECRET || 'partner-api-secret';

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      // The desktop app: a public native client (RFC 8252), so PKCE is required and any loopback
      // port is accepted on its redirect URI.
      client_id: 'audience-studio',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      // audiences:admin exists but is not this client's to ask for: the tests' "server refuses" case.
      scope: 'openid offline_access audiences:write short-lived',
      response_types: ['code'],
    },
    {
      // The partner's API: only introspects the bearer tokens the app presents.
      client_id: 'partner-api',
      client_secret: partnerSecret,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  scopes: ['openid', 'offline_access', 'audiences:write', 'audiences:admin', 'short-lived'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  // A refresh token whenever the client may use one (plain OAuth 2.0 clients do not ask for offline_access).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: {
    AccessToken: (ctx, token) => ((token.scope || '').split(' ').includes('short-lived') ? 2 : accessTtl),
    AuthorizationCode: 60,
    RefreshToken: 24 * 60 * 60,
    Grant: 24 * 60 * 60,
    Interaction: 10 * 60,
    Session: 24 * 60 * 60,
  },
  cookies: { keys: ['audience-studio-test-cookie-key'] },
});
// http on 127.0.0.1 is what RFC 8252 allows for tests; tell koa not to insist on https cookies.
provider.proxy = true;
server.on('request', provider.callback());

process.stdout.write(`READY ${port}\n`);

function stop() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent test process closing our stdin means it has gone: never outlive it.
process.stdin.on('end', stop);
process.stdin.resume();
