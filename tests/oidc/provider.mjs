// The OpenID provider that IMAG'IN's tests start: node-oidc-provider (OpenID Certified),
// configured from a JSON file, listening on a free port of 127.0.0.1.
//
//   node provider.mjs CONFIG.json
//
// CONFIG: {"clients": [{"client_id", "client_secret", "redirect_uris",
//           "post_logout_redirect_uris", "misbehave"?}],
//          "accounts": {"<login>": {<claims>}}}
// When it listens it prints one line of JSON, {"issuer": "http://127.0.0.1:<port>"}.
//
// The authorization code flow, PKCE, sessions, codes, tokens, userinfo and the end-session
// endpoint are the provider's own. For the token-level attacks a client may be registered
// with "misbehave": the ID tokens the token endpoint returns to that client only are then
// rewritten the way a broken or hostile provider would send them:
//   "audience"      aud is another application's id
//   "audience-azp"  aud is another application's id, azp still names the client
//   "expired"       issued two hours ago, expired one hour ago (re-signed with the real key)
//   "signature"     signed with a key that is not the provider's, under the provider's kid
//   "skew"          issued 30 seconds in the future: a provider clock a little ahead
import http from 'node:http';
import { readFileSync } from 'node:fs';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts || {};
const misbehaviours = Object.fromEntries(
  config.clients.filter((c) => c.misbehave).map((c) => [c.client_id, c.misbehave]),
);

async function signingKey(kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
}

const realKey = await signingKey('portail-test-1');
// Same kid as the real key: only the signature can tell them apart.
const foreignKey = await jose.importJWK(await signingKey('portail-test-1'), 'RS256');
const providerKey = await jose.importJWK(realKey, 'RS256');

const page = (title, body) => `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1>${body}</body></html>`;

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function rewriteIdToken(idToken, how, clientId) {
  const payload = jose.decodeJwt(idToken);
  const header = jose.decodeProtectedHeader(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = providerKey;
  if (how === 'audience') payload.aud = 'autre-application';
  else if (how === 'audience-azp') {
    payload.aud = ['autre-application'];
    payload.azp = clientId;
  } else if (how === 'expired') {
    payload.iat = now - 7200;
    payload.exp = now - 3600;
  } else if (how === 'skew') {
    payload.iat = now + 30;
  } else if (how === 'signature') key = foreignKey;
  else throw new Error(`unknown misbehaviour ${how}`);
  return new jose.SignJWT(payload).setProtectedHeader(header).sign(key);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients.map(({ misbehave, ...client }) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      ...client,
    })),
    jwks: { keys: [realKey] },
    cookies: { keys: ['imagin-tests-only'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name'],
      fr_edu: ['fr_edu_rne', 'fr_edu_rne_resp', 'fr_edu_fonct_adm', 'codaca', 'groups'],
    },
    scopes: ['openid', 'email', 'profile', 'fr_edu'],
    async findAccount(ctx, sub) {
      if (!Object.hasOwn(accounts, sub)) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...accounts[sub] }) };
    },
    // First-party clients: no consent screen, every scope asked for is granted.
    async loadExistingGrant(ctx) {
      const { client, session, params } = ctx.oidc;
      const existing = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      if (existing) return ctx.oidc.provider.Grant.find(existing);
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(String(params.scope || 'openid'));
      await grant.save();
      return grant;
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page('Déconnexion du portail', `${form}
<p>Voulez-vous vous déconnecter du portail de test ?</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">Oui, me déconnecter</button>
<button type="submit" form="op.logoutForm">Non, rester connecté</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Déconnecté du portail', '<p>Vous êtes déconnecté du portail de test.</p>');
        },
      },
    },
    ttl: {
      AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600,
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Erreur du portail de test', `<p id="error">${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
    },
  });

  // The sign-in page of the portal: a login among the test accounts (no password: a test portal).
  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
    if (!match) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let error = '';
    if (ctx.method === 'POST') {
      const login = (await readForm(ctx.req)).get('login') || '';
      if (Object.hasOwn(accounts, login)) {
        const to = await provider.interactionResult(
          ctx.req, ctx.res, { login: { accountId: login } }, { mergeWithLastSubmission: false },
        );
        ctx.status = 303;
        return ctx.redirect(to);
      }
      error = `<p id="error">Identifiant inconnu : ${escape(login)}</p>`;
    }
    ctx.type = 'html';
    ctx.body = page('Portail de test', `${error}
<form method="post" action="/interaction/${details.uid}">
<label>Identifiant <input name="login" autocomplete="off"></label>
<button type="submit">Se connecter au portail</button>
</form>`);
    return undefined;
  });

  // The token endpoint's answer, rewritten for the misbehaving clients only.
  provider.use(async (ctx, next) => {
    await next();
    const how = misbehaviours[ctx.oidc?.client?.clientId];
    if (ctx.oidc?.route === 'token' && how && ctx.status === 200 && ctx.body?.id_token) {
      ctx.body = { ...ctx.body, id_token: await rewriteIdToken(ctx.body.id_token, how, ctx.oidc.client.clientId) };
    }
  });

  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
