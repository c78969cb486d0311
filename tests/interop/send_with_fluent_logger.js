// Sends findings to an EduSight collector with fluent-logger (an outside Forward client), in
// each of its event modes, over TLS with the shared-key handshake and acks required.
// Usage: node send_with_fluent_logger.js HOST PORT CA_FILE AGENT_ID KEY COUNT
// Prints one JSON line: {"sent": n, "errors": [...]}; exit 1 on any error.
'use strict';
const fs = require('fs');
const fluent = require('fluent-logger');

const [host, port, caFile, agent, key, countText] = process.argv.slice(2);
const count = Number(countText || '10');
const ca = fs.readFileSync(caFile);

function sender(mode, sharedKey) {
  return fluent.createFluentSender('edusight', {
    host,
    port: Number(port),
    timeout: 5.0,
    reconnectInterval: 600000,
    requireAckResponse: true,
    ackResponseTimeout: 10000,
    eventMode: mode,
    flushInterval: 10,
    security: { clientHostname: agent, sharedKey },
    tls: true,
    tlsOptions: { ca, servername: 'localhost' },
  });
}

function emit(s, tag, record) {
  return new Promise((resolve, reject) => {
    s.emit(tag, record, (err) => (err ? reject(err) : resolve()));
  });
}

async function main() {
  const errors = [];
  let sent = 0;
  for (const mode of ['Message', 'PackedForward', 'CompressedPackedForward']) {
    const s = sender(mode, key);
    s.on('error', (e) => errors.push(`${mode}: ${e.message || e}`));
    for (let i = 0; i < count; i++) {
      const subject = `${mode.toLowerCase()}-${i}.demo-univ.edu.cn`;
      try {
        await emit(s, 'finding', {
          kind: 'asset.unregistered',
          severity: 'medium',
          subject,
          title: 'Unregistered system',
          title_zh: '未登记系统',
          evidence: { addresses: ['192.0.2.80'], via: 'fluent-logger', mode },
          observed_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          scan: `interop-${mode}`,
          job: 'interop',
        });
        sent++;
      } catch (e) {
        errors.push(`${mode} emit ${i}: ${e.message || e}`);
        break;
      }
    }
    s.end();
  }
  // A wrong key must be refused by the collector (the logger reports authentication failed).
  const bad = sender('PackedForward', key + '-wrong');
  const refused = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve('no refusal within 10 s'), 10000);
    bad.on('error', (e) => {
      clearTimeout(timer);
      resolve(String(e.message || e));
    });
    bad.emit('finding', { kind: 'x', subject: 'should-not-arrive' }, () => {});
  });
  bad.end();
  console.log(JSON.stringify({ sent, errors, wrong_key: refused }));
  process.exit(errors.length ? 1 : 0);
}

main().catch((e) => {
  console.log(JSON.stringify({ sent: 0, errors: [String(e)] }));
  process.exit(1);
});
