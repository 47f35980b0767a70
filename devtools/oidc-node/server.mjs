// A certified OpenID Provider (panva's oidc-provider) for the sign-in tests, never for
// production. It runs in one of three profiles that release claims the way the
// identity providers hospitals run do:
//
//   entra   Microsoft Entra ID: no email_verified; the optional claim xms_edov
//           ("email domain owner verified"); the address also in preferred_username;
//           everything in the ID token.
//   okta    Okta: email and profile only in userinfo (the ID token of the code flow
//           carries no scope claims); groups released only for the "groups" scope.
//   google  Google Workspace: email_verified and the hosted-domain claim hd in the
//           ID token.
//
// Usage: node server.mjs PROFILE REDIRECT_URI CLIENT_ID CLIENT_SECRET
// It listens on 127.0.0.1 on a port the system picks and prints one line,
// "listening http://127.0.0.1:PORT", once it answers.
//
// The person signing in is the test: GET /interaction/UID says what is asked, and
// POST /interaction/UID/login with a form field "claims" (a JSON object with at least
// "sub") signs in as that account. The provider then releases of those claims only
// what the profile releases for the requested scopes.

import http from 'node:http';

import Provider from 'oidc-provider';

const PROFILES = {
  entra: {
    claims: {
      openid: ['sub', 'xms_edov', 'employeeid'],
      email: ['email'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'upn'],
    },
    idTokenHasScopeClaims: true,
  },
  okta: {
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'employeeNumber'],
      groups: ['groups'],
    },
    idTokenHasScopeClaims: false,
  },
  google: {
    claims: {
      openid: ['sub', 'hd'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'picture', 'locale'],
    },
    idTokenHasScopeClaims: true,
  },
};

const [profileName, redirectUri, clientId, clientSecret] = process.argv.slice(2);
const profile = PROFILES[profileName];
if (!profile || !redirectUri || !clientId || !clientSecret) {
  console.error('usage: node server.mjs entra|okta|google REDIRECT_URI CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}

// Accounts are whoever the tests sign in as, by subject.
const accounts = new Map();

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 65536) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [redirectUri.replace(/\/login\/callback$/, '/signed-out')],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    }],
    claims: profile.claims,
    conformIdTokenClaims: !profile.idTokenHasScopeClaims,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const claims = accounts.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ ...claims, sub }) };
    },
    // Consent is the organisation's business, given once for the site: every
    // requested scope is granted (what an admin-consented app sees).
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope);
      await grant.save();
      return grant;
    },
  });

  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(ctx.path);
    if (!match) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (!match[2] && ctx.method === 'GET') {
      ctx.body = { uid: details.uid, prompt: details.prompt.name, scope: details.params.scope };
      return undefined;
    }
    if (match[2] && ctx.method === 'POST') {
      const form = await readForm(ctx.req);
      const claims = JSON.parse(form.get('claims') || '{}');
      if (typeof claims.sub !== 'string' || !claims.sub) {
        ctx.status = 400;
        ctx.body = { error: 'claims must name a sub' };
        return undefined;
      }
      accounts.set(claims.sub, claims);
      ctx.respond = false;
      await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: claims.sub } },
        { mergeWithLastSubmission: false });
      return undefined;
    }
    ctx.status = 405;
    return undefined;
  });

  server.on('request', provider.callback());
  console.log(`listening ${issuer}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
