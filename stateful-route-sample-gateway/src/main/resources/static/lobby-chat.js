// A player's lobby chat through the gateway, reconnecting as a client of stateful-route should.
// The gateway closes a session with 1012 when the player's link moves to another pod (and when
// the pod dies or shuts down); a pod closes with 1001 a player it no longer serves. Either way
// the player's state lives on another pod now, which the next connection reaches: reconnect at
// once, after a random delay under FIRST_RECONNECT_MS so that the players of a whole pod do not
// arrive together. While reconnects fail (a dead pod's players get 503 until its lease has
// lapsed), back off exponentially with full jitter. 1000 (closed on purpose) and the codes
// saying the request itself is wrong (1003, 1007, 1008, 1009, 1010) are final.
'use strict';

const FIRST_RECONNECT_MS = 250;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 10000;
const FINAL_CODES = new Set([1000, 1003, 1007, 1008, 1009, 1010]);

// The delay before reconnect attempt n (0 is the first after a close).
function reconnectDelay(attempt, random = Math.random) {
  if (attempt === 0) {
    return random() * FIRST_RECONNECT_MS;
  }
  return random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
}

// Connects to url and stays connected until close(); onText gets each message, onStatus each change.
function lobbyChat(url, { onText, onStatus }) {
  let socket;
  let attempt = 0;
  let timer;
  let closing = false;

  function connect() {
    socket = new WebSocket(url);
    socket.onopen = () => onStatus('connected');
    socket.onmessage = (event) => {
      attempt = 0; // the pod took the player: the next close starts a fresh series
      onText(event.data);
    };
    socket.onclose = (event) => {
      const why = `closed ${event.code}${event.reason ? ` (${event.reason})` : ''}`;
      if (closing || FINAL_CODES.has(event.code)) {
        onStatus(why);
        return;
      }
      const delay = reconnectDelay(attempt++);
      onStatus(`${why}, reconnecting in ${Math.round(delay)} ms`);
      timer = setTimeout(connect, delay);
    };
  }

  connect();
  return {
    // whether the text went out: not while the chat reconnects
    send: (text) => {
      if (socket.readyState !== WebSocket.OPEN) {
        return false;
      }
      socket.send(text);
      return true;
    },
    close: () => {
      closing = true;
      clearTimeout(timer);
      socket.close(1000, 'bye');
    },
  };
}

if (typeof module !== 'undefined') {
  module.exports = { lobbyChat, reconnectDelay };
}
