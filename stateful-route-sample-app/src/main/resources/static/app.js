// Polls /api/dashboard every second and draws it. No framework, no CDN: works offline.
'use strict';

const esc = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function post(url) {
  const response = await fetch(url, { method: 'POST' });
  if (!response.ok) {
    alert(`${url}: ${response.status} ${await response.text()}`);
  }
  return response;
}

// Where the pod's heartbeat says it serves its players: what a gateway in front of the pods connects to.
function address(pod) {
  const a = pod.address;
  if (!a) {
    return { uri: pod.simulated ? 'none (simulated in this process)' : 'none advertised', metadata: '' };
  }
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  const metadata = Object.entries(a.metadata || {}).map(([key, value]) => `${key}=${value}`).join(', ');
  return { uri: `${a.scheme}://${host}:${a.port}`, metadata };
}

function podCard(service, pod) {
  const state = pod.dead ? 'dead' : (pod.frozen ? 'frozen' : pod.routingState);
  const buttons = [];
  if (pod.local && !pod.dead) {
    buttons.push(pod.routingState === 'READY' ? 'drain' : 'undrain');
    if (pod.routingState !== 'READY') {
      buttons.push('handoff'); // a drained pod hands its players over to the other pods
    }
  }
  if (pod.simulated) {
    buttons.push(pod.dead ? 'restart' : 'kill');
    if (!pod.dead) {
      buttons.push(pod.frozen ? 'thaw' : 'freeze');
    }
  }
  const where = address(pod);
  return `
    <div class="pod ${esc(pod.routingState)} ${pod.alive ? '' : 'dead'}" data-pod="${pod.index}">
      <h4>${esc(service)}-${pod.index} ${pod.local ? '' : '<small>(other process)</small>'}</h4>
      <div class="address">${esc(where.uri)}</div>
      <div class="metadata">${esc(where.metadata)}</div>
      <div class="bar" style="width: ${Math.min(100, pod.loadScore * 2)}%"></div>
      <dl>
        <dt>state</dt><dd class="state">${esc(state)}</dd>
        <dt>alive</dt><dd class="alive">${pod.alive ? 'yes' : 'no'}</dd>
        <dt>routable</dt><dd class="routable">${pod.routable ? 'yes' : 'no'}</dd>
        <dt>load score</dt><dd class="load">${pod.loadScore.toFixed(1)}</dd>
        <dt>links</dt><dd class="links">${pod.links}</dd>
        <dt>players held</dt><dd class="players">${pod.local ? pod.players : '-'}</dd>
        <dt>lease</dt><dd class="lease">${pod.local ? (pod.leaseLive ? 'live' : 'lapsed') : '-'}</dd>
        <dt>players lost</dt><dd class="lost ${pod.lostPlayers > 0 ? 'warn' : ''}">${pod.local ? pod.lostPlayers : '-'}</dd>
        <dt>heartbeat</dt><dd>${(pod.heartbeatAgeMillis / 1000).toFixed(1)} s ago</dd>
      </dl>
      ${buttons.map((action) => `<button data-action="${action}" data-pod="${pod.index}">${action}</button>`).join(' ')}
    </div>`;
}

function render(dashboard) {
  document.getElementById('namespace').textContent = dashboard.namespace;
  document.getElementById('players').textContent = dashboard.players;
  document.getElementById('services').innerHTML = dashboard.services.map((service) => `
    <h3>${esc(service.service)}</h3>
    <div class="pods">${service.pods.map((pod) => podCard(service.service, pod)).join('')}</div>`).join('');
  document.getElementById('outcomes').innerHTML = Object.entries(dashboard.outcomes)
    .map(([outcome, count]) => `<span class="outcome" data-outcome="${outcome}">${outcome}: <b>${count}</b></span>`)
    .join('');
  document.querySelector('#decisions tbody').innerHTML = dashboard.decisions.map((d) => `
    <tr class="${d.outcome}" data-outcome="${d.outcome}" data-pod="${d.pod}">
      <td>${new Date(d.at).toLocaleTimeString()}</td><td>${esc(d.uid)}</td><td>${esc(d.service)}</td>
      <td>${d.outcome}</td><td>${d.pod >= 0 ? d.pod : '-'}</td><td>${d.micros}</td>
    </tr>`).join('');
}

async function refresh() {
  const status = document.getElementById('status');
  try {
    const response = await fetch('api/dashboard');
    render(await response.json());
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    status.textContent = `cannot reach the sample: ${error}`;
  }
}

document.getElementById('services').addEventListener('click', async (event) => {
  const { action, pod } = event.target.dataset;
  if (action) {
    await post(`api/pods/${pod}/${action}`);
    refresh();
  }
});

document.getElementById('add-players').addEventListener('click', async () => {
  const response = await post('api/players?count=10');
  if (response.ok) {
    const routes = await response.json();
    document.getElementById('added').innerHTML = routes
      .map((r) => `<li data-pod="${r.pod}">${esc(r.uid)} &rarr; ${esc(r.service)}-${r.pod}</li>`).join('');
    refresh();
  }
});

refresh();
setInterval(refresh, 1000);
