// grpc_health_server.js: a grpc.health.v1.Health server over HTTP/2 cleartext (prior
// knowledge) for the gRPC probe's tests, on Node.js's built-in http2 module (no gRPC library).
// Usage: node grpc_health_server.js HOST STATEFILE [PORT]; prints the port it listens on (PORT,
// default any), then
// answers Check by STATEFILE's "service STATUS" lines, read at each call (STATUS: SERVING,
// NOT_SERVING, UNKNOWN, SERVICE_UNKNOWN); a service not listed is NOT_FOUND "unknown service"
// (as grpc-go's health server), the service "unimplemented" an UNIMPLEMENTED answer, any other
// method UNIMPLEMENTED too.
'use strict';
const http2 = require('http2');
const fs = require('fs');
const [host, stateFile, port] = process.argv.slice(2);
const STATUS = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 };

function statuses() {
  const m = new Map();
  for (const line of fs.readFileSync(stateFile, 'utf8').split('\n')) {
    const [svc, st] = line.trim().split(/\s+/);
    if (st !== undefined) m.set(svc === '-' ? '' : svc, st);
  }
  return m;
}

// the service of a framed HealthCheckRequest (field 1, a string)
function serviceOf(body) {
  if (body.length < 5) return '';
  const msg = body.subarray(5, 5 + body.readUInt32BE(1));
  let i = 0, service = '';
  while (i < msg.length) {
    const tag = msg[i++];
    let len = 0, shift = 0, b;
    do { b = msg[i++]; len |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
    if (tag === 0x0a) service = msg.subarray(i, i + len).toString();
    i += len;
  }
  return service;
}

function fail(stream, code, message) {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code),
    'grpc-message': encodeURIComponent(message) }, { endStream: true });
}

const server = http2.createServer();
server.on('stream', (stream, headers) => {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', () => {
    if (headers[':path'] !== '/grpc.health.v1.Health/Check')
      return fail(stream, 12, 'unknown method');
    const service = serviceOf(Buffer.concat(chunks));
    if (service === 'unimplemented')
      return fail(stream, 12, 'unknown service grpc.health.v1.Health');
    const st = statuses().get(service);
    if (st === undefined) return fail(stream, 5, 'unknown service');
    const msg = Buffer.from([0x08, STATUS[st]]);
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(msg.length, 1);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.concat([frame, msg]));
  });
});
server.listen(Number(port || 0), host, () => {
  process.stdout.write(`${server.address().port}\n`);
});
