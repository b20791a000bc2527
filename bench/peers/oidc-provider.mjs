// oidc-provider with the device flow, client credentials and introspection
// on, its default (in-memory) storage, listening on 127.0.0.1:PORT.
//   node oidc-provider.mjs PORT
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'bench-device',
      token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: 'bench-rs',
      client_secret: 'bench-introspection-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  scopes: ['openid', 'api'],
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
  },
});
// Its warnings about development defaults are not what is measured.
console.warn = () => {};
provider.listen(port, '127.0.0.1', () => console.log('listening'));
