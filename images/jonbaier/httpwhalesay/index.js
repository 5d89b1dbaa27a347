#!/usr/bin/env node
// jonbaier/httpwhalesay: `node index.js "<text>"` serves, on port 80, an
// ASCII whale saying the text (docker/whalesay's cowsay whale).
const http = require('node:http');

const text = process.argv.slice(2).join(' ') || 'Hello from Kubernetes!';
const line = '_'.repeat(text.length + 2);
const dash = '-'.repeat(text.length + 2);
const whale = [
  ` ${line} `,
  `< ${text} >`,
  ` ${dash} `,
  '    \\',
  '     \\',
  '      \\',
  '                    ##        .',
  '              ## ## ##       ==',
  '           ## ## ## ##      ===',
  '       /""""""""""""""""___/ ===',
  '  ~~~ {~~ ~~~~ ~~~ ~~~~ ~~ ~ /  ===- ~~~',
  '       \\______ o          __/',
  '        \\    \\        __/',
  '          \\____\\______/',
  '',
].join('\n');
http.createServer((_req, res) => res.end(`<pre>\n${whale}</pre>\n`)).listen(80, () => console.log('httpwhalesay listening on 80'));
['SIGTERM', 'SIGINT'].forEach((s) => process.on(s, () => process.exit(0)));
