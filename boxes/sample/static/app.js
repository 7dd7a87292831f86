// The sample page: learns its API server from the front door (/__SOCKET_SERVER_HOST), or uses
// ?api=host:port when given, and keeps working across reconnects.
import { connect } from '/__boxwire/client.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const bw = connect({ box: 'sample', apiHost: params.get('api') ?? undefined });
window.bw = bw;

const setState = (state, text) => {
  $('state').dataset.state = state;
  $('state').textContent = text;
};
bw.on('open', async (host) => {
  setState('connected', `connected to API server ${host}`);
  $('state').dataset.apiHost = host;
  delete $('state').dataset.reason;
  $('increment').disabled = false;
  $('chat-send').disabled = false;
  $('counter').textContent = await bw.call('getCounter');
});
bw.on('close', () => {
  setState('connecting', 'reconnecting…');
  $('increment').disabled = true;
  $('chat-send').disabled = true;
});
// Discovery or the connection failed: still connecting, but say why, and when the client tries again.
bw.on('error', (error) => {
  setState('connecting', `cannot connect: ${error.message} — retrying in ${(error.retryInMs / 1000).toFixed(1)} s (attempt ${error.attempt})`);
  $('state').dataset.reason = error.code;
  $('state').dataset.attempt = String(error.attempt);
});

bw.join('counter', (event, data) => {
  if (event === 'value') $('counter').textContent = data.value;
});
$('increment').addEventListener('click', async () => {
  $('counter').textContent = await bw.call('increment', { by: 1 });
});

bw.join('chat', (event, line) => {
  if (event !== 'line') return;
  const item = document.createElement('li');
  const name = document.createElement('b');
  name.textContent = line.name;
  item.append(name, line.text);
  $('chat-log').append(item);
  $('chat-log').scrollTop = $('chat-log').scrollHeight;
});
$('chat-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('chat-text').value;
  $('chat-text').value = '';
  await bw.call('say', { name: $('chat-name').value, text });
});

$('file').addEventListener('change', async () => {
  const file = $('file').files[0];
  if (!file) return;
  $('upload-result').textContent = 'uploading…';
  try {
    const meta = await bw.upload(file, {
      onProgress: ({ received, total }) => {
        const bar = $('upload-progress');
        bar.dataset.events = String(Number(bar.dataset.events ?? 0) + 1);
        if (total) bar.value = received / total;
      },
    });
    $('upload-progress').value = 1;
    const link = document.createElement('a');
    link.id = 'download-link';
    link.href = bw.downloadUrl(meta);
    link.textContent = `${meta.name} (${meta.size} bytes, stored on ${meta.server})`;
    link.dataset.fileId = meta.id;
    $('upload-result').replaceChildren(link);
  } catch (error) {
    $('upload-result').textContent = `upload failed: ${error.message}`;
  }
});
