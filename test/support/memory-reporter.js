// Test support: loaded into a sample process with NODE_OPTIONS=--require, it writes the process's memory to stderr
// every 250 ms as `nsk-memory {"at":<ms since epoch>,"rss":<bytes>,"heapUsed":<bytes>}`, for specs that watch
// whether memory stays flat (faults-under-load). The timer does not keep the process alive.
'use strict';
setInterval(() => {
  const { rss, heapUsed } = process.memoryUsage();
  process.stderr.write(`nsk-memory ${JSON.stringify({ at: Date.now(), rss, heapUsed })}\n`);
}, 250).unref();
