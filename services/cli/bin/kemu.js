#!/usr/bin/env node
// The `kemu` command. A committed file, not dist/main.js itself: npm links a workspace's bin when it installs,
// and on a fresh clone dist/ does not exist yet, so a bin pointing into it is never linked (`npx kemu` fails).
await import('../dist/bundle.mjs');
