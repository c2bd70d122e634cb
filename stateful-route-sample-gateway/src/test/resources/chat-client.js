// Runs the gateway page's lobby chat (lobby-chat.js, given as the first argument) in Node for
// SampleTopologyIntegrationTest, against the WebSocket URL given second: prints every text and
// status on a line of its own, says hello after each welcome, and closes when stdin ends.
'use strict';

const { lobbyChat } = require(process.argv[2]);

let hellos = 0;
const chat = lobbyChat(process.argv[3], {
  onText: (text) => {
    console.log(`text ${text}`);
    if (text.includes(' welcome ')) {
      chat.send(`hello ${++hellos}`);
    }
  },
  onStatus: (status) => console.log(`status ${status}`),
});
process.stdin.resume();
process.stdin.on('end', () => chat.close());
