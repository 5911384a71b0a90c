// The baseline of `pnpm bench`: a bare node:http server that answers the handshake and 202 to everything else,
// doing no work. What graph2kafka costs is measured against it.
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
createServer((req, res) => {
  const token = new URL(req.url ?? '/', 'http://x').searchParams.get('validationToken');
  req.resume();
  req.on('end', () => {
    if (token !== null) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(token);
    } else {
      res.writeHead(202);
      res.end();
    }
  });
}).listen(port, '127.0.0.1');
