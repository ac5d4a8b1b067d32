// The live view's server checks what a page sends before it reaches a node:
// a clear 4xx with the field named, never a crash.

import { expect } from 'chai';
import { UiServer } from '../../src/ui/ui-server';

describe('live view server: requests from the page are validated at the edge', () => {
  let ui: UiServer;
  let url: string;

  before(async () => {
    // A member nobody listens on: a valid request would go on to it and fail there (502).
    ui = new UiServer({ members: [{ name: 'n1', api: 'http://127.0.0.1:9' }], port: 0, memberTimeoutMs: 500, putTimeoutMs: 500 });
    url = await ui.listen();
  });
  after(() => ui.close());

  const post = async (path: string, body: string) => {
    const r = await fetch(`${url}${path}`, { method: 'POST', body });
    return { status: r.status, body: (await r.json()) as { error: string; field?: string } };
  };

  it('rejects bad bodies, fields and names with 4xx naming the field', async () => {
    expect(await post('api/nodes/n1/put', '{"key":')).to.deep.equal({ status: 400, body: { error: 'body is not JSON' } });
    expect(await post('api/nodes/n1/put', '[1]')).to.deep.equal({ status: 400, body: { error: 'body must be a JSON object' } });
    expect((await post('api/nodes/n1/put', '{"key":"","value":"v"}')).body.field).to.equal('key');
    expect((await post('api/nodes/n1/put', '{"key":"k","value":7}')).body.field).to.equal('value');
    expect((await post('api/nodes/n1/isolate', '{"isolated":"yes"}')).body.field).to.equal('isolated');
    expect(await post('api/nodes/n9/put', '{"key":"k","value":"v"}')).to.deep.equal({ status: 404, body: { error: 'no member n9', field: 'node' } });
    expect((await post('api/nodes/n1/stop', '{}')).status).to.equal(409);
    expect((await post('api/nodes/n1/put', 'x'.repeat(20_000))).status).to.equal(413);
  });

  it('a valid request to an unreachable member is a 502 naming it', async () => {
    const r = await post('api/nodes/n1/put', '{"key":"k","value":"v"}');
    expect(r.status).to.equal(502);
    expect(r.body.error).to.match(/^n1 is unreachable/);
  });
});
