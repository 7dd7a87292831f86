/** The valid `mongo` section the config tests start from (each case breaks one thing), and its secrets. */
export const SAMPLE_ENV = { ROOT_USER: 'root', ROOT_PWD: 'pw1', APP_USER: 'app', APP_PWD: 'pw2' };

export function sampleMongo(): Record<string, any> {
  return {
    database: 'app', keyFile: '/srv/mongodb/keyfile',
    configServers: { replSet: 'cfgRS', members: [{ host: '10.0.0.1', port: 40001 }] },
    shards: [{ replSet: 'sh1', members: [{ host: '10.0.0.1', port: 30001 }] }, { replSet: 'sh2', members: [{ host: '10.0.0.2', port: 30002 }] }],
    routers: [{ host: '10.0.0.1', port: 27018 }],
    users: { root: { user: 'env:ROOT_USER', pwd: 'env:ROOT_PWD' }, app: { user: 'env:APP_USER', pwd: 'env:APP_PWD' } },
  };
}
