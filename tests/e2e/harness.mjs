// What the end-to-end tests share: a free loopback port, and `pagoda serve`
// started on it (resolved once it prints its listening address) and stopped.
import { spawn } from 'node:child_process';
import net from 'node:net';

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// `bin serve ...args` on a free loopback port: { proc, port, baseURL }.
export async function startServer(bin, args) {
  const port = await freePort();
  const proc = spawn(bin, ['serve', ...args, '--host', '127.0.0.1', '--port', String(port)],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 60000);
    proc.stderr.on('data', (d) => {
      log += d.toString();
      if (log.includes('listening on')) { clearTimeout(timer); resolve(); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${log}`)); });
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
  return { proc, port, baseURL: `http://127.0.0.1:${port}/v1` };
}

export function stopServer(server) {
  return new Promise((resolve) => {
    if (!server || server.proc.exitCode !== null) return resolve();
    server.proc.once('exit', resolve);
    server.proc.kill('SIGTERM');
  });
}
