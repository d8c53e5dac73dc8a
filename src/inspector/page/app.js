/* global document, location, EventSource */ // a browser module (ESLint is configured for Node)
// The Roomcast inspector: plain DOM, no build step, no third-party code (the page's CSP allows only
// this origin). Everything it shows comes from /graphql with the visitor's token: the rooms and
// replicas (Query.rooms, Query.replicas: "@admin": ["inspect"]), a live tail over server-sent events
// (Subscription.messages or broadcasts: "subscribe" on the room), and the publish mutation.

const ENDPOINT = '/graphql';
const TOKEN_KEY = 'roomcast-inspector-token';
/** How often the tables are read again; ?refresh=<ms> changes it (at least 250 ms). */
const REFRESH_MS = Math.max(250, Number(new URLSearchParams(location.search).get('refresh')) || 2000);
const TAIL_KEEP = 200;

const OVERVIEW = `query Inspect {
  replicas { replica reportedAt rooms listedRooms subscriptions }
  rooms(limit: 100) { room seq epoch subscribers presence replicas { replica subscribers } }
}`;
const MESSAGE_FIELDS = `__typename ... on Message { seq event data publishedAt sender cursor } ... on HistoryGap { missed }`;
const TAIL_ROOM = `subscription Tail($room: ID!) { event: messages(room: $room) { ${MESSAGE_FIELDS} } }`;
const TAIL_BROADCASTS = `subscription TailBroadcasts { event: broadcasts { ${MESSAGE_FIELDS} } }`;
const PUBLISH = `mutation Publish($room: ID!, $event: String!, $data: JSON!) {
  publish(room: $room, event: $event, data: $data) { seq cursor }
}`;

const $ = (id) => document.getElementById(id);

/** An element with text content only (never HTML: room ids and data come from clients). */
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function setStatus(node, text, isError = false) {
  node.textContent = text;
  node.classList.toggle('error', isError);
}

// --- the token --------------------------------------------------------------------------------

const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';

function setupToken() {
  $('token').value = token();
  $('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $('token').value.trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
    void refresh();
  });
  $('token-clear').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token').value = '';
    void refresh();
  });
}

// --- GraphQL over HTTP ------------------------------------------------------------------------

class GraphQLFailure extends Error {
  constructor(errors) {
    super(errors.map((error) => error.message).join('; '));
    this.code = errors[0]?.extensions?.code;
  }
}

async function graphql(query, variables) {
  const headers = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
  if (token()) headers.authorization = `Bearer ${token()}`;
  const response = await fetch(ENDPOINT, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status}` }] }));
  if (body.errors?.length) throw new GraphQLFailure(body.errors);
  return body.data;
}

/** What to tell the visitor about a failed request. */
function explain(error) {
  if (error.code === 'UNAUTHENTICATED') return `Not signed in: ${error.message}. Paste a token with "@admin": ["inspect"].`;
  if (error.code === 'FORBIDDEN') return `Forbidden: ${error.message}.`;
  return `Error${error.code ? ` (${error.code})` : ''}: ${error.message}`;
}

// --- the overview -----------------------------------------------------------------------------

async function refresh() {
  try {
    const data = await graphql(OVERVIEW);
    renderReplicas(data.replicas);
    renderRooms(data.rooms);
    setStatus($('status'), `Updated ${new Date().toLocaleTimeString()}: ${data.rooms.length} rooms, ${data.replicas.length} replicas.`);
  } catch (error) {
    setStatus($('status'), explain(error), true);
  }
}

function renderReplicas(replicas) {
  const rows = replicas.map((replica) => {
    const row = el('tr');
    row.dataset.replica = replica.replica;
    row.append(
      el('td', replica.replica, 'mono'),
      el('td', replica.rooms, 'num'),
      el('td', replica.listedRooms, 'num'),
      el('td', replica.subscriptions, 'num'),
      el('td', new Date(replica.reportedAt).toLocaleTimeString()),
    );
    return row;
  });
  $('replicas').tBodies[0].replaceChildren(...rows);
}

function renderRooms(rooms) {
  const rows = rooms.map((room) => {
    const row = el('tr');
    row.dataset.room = room.room;
    const shares = el('td', undefined, 'replicas');
    for (const share of room.replicas) {
      const span = el('span', `${share.replica}: ${share.subscribers}`, 'share');
      span.dataset.replica = share.replica;
      span.dataset.subscribers = share.subscribers;
      shares.append(span);
    }
    const action = el('td');
    const tail = action.appendChild(el('button', 'Tail'));
    tail.type = 'button';
    tail.addEventListener('click', () => startTail(room.room));
    row.append(
      el('td', room.room, 'room mono'),
      el('td', room.seq, 'seq num'),
      el('td', room.epoch ?? '—', 'epoch mono'),
      el('td', room.subscribers, 'subscribers num'),
      shares,
      el('td', room.presence ?? '—', 'presence num'),
      action,
    );
    return row;
  });
  $('rooms').tBodies[0].replaceChildren(...rows);
  $('rooms-empty').hidden = rooms.length > 0;
}

// --- the live tail ----------------------------------------------------------------------------

let tail;

/** The event stream's URL: GET with the token in the query, since an EventSource cannot send headers. */
function tailUrl(room) {
  const url = new URL(ENDPOINT, location.href);
  url.searchParams.set('query', room === '*' ? TAIL_BROADCASTS : TAIL_ROOM);
  if (room !== '*') url.searchParams.set('variables', JSON.stringify({ room }));
  if (token()) url.searchParams.set('token', token());
  return url;
}

function startTail(room) {
  stopTail();
  $('tail-room').value = room;
  if (!$('publish-room').value && room !== '*') $('publish-room').value = room;
  $('tail').replaceChildren();
  // An EventSource reconnects by itself and resumes after the last event's id (its cursor).
  const source = new EventSource(tailUrl(room));
  tail = { room, source };
  $('tail-stop').disabled = false;
  setStatus($('tail-status'), `Connecting to ${room}…`);
  source.addEventListener('open', () => setStatus($('tail-status'), `Tailing ${room}.`));
  source.addEventListener('next', (event) => showResult(room, JSON.parse(event.data)));
  source.addEventListener('complete', () => stopTail(`The stream of ${room} ended.`));
  source.addEventListener('error', () => {
    // CLOSED: the server refused the stream (an EventSource cannot see why: 401, 403 or 400).
    if (source.readyState === EventSource.CLOSED) {
      stopTail(`The stream of ${room} was refused: does the token allow "subscribe" on it?`, true);
    } else {
      setStatus($('tail-status'), `Reconnecting to ${room}…`);
    }
  });
}

function stopTail(text = 'Not tailing.', isError = false) {
  tail?.source.close();
  tail = undefined;
  $('tail-stop').disabled = true;
  setStatus($('tail-status'), text, isError);
}

function showResult(room, result) {
  if (result.errors?.length) return stopTail(explain(new GraphQLFailure(result.errors)), true);
  const event = result.data?.event;
  if (!event) return;
  const line =
    event.__typename === 'HistoryGap'
      ? el('li', `history gap: ${event.missed ?? 'unknown number of'} messages missed`, 'gap')
      : el(
          'li',
          `#${event.seq} ${event.event} ${JSON.stringify(event.data)} ${event.sender ? `by ${event.sender} ` : ''}at ${event.publishedAt}`,
        );
  if (event.__typename === 'Message') line.dataset.seq = event.seq;
  const list = $('tail');
  list.prepend(line);
  while (list.children.length > TAIL_KEEP) list.lastElementChild.remove();
  setStatus($('tail-status'), `Tailing ${room}.`);
}

function setupTail() {
  $('tail-form').addEventListener('submit', (event) => {
    event.preventDefault();
    startTail($('tail-room').value.trim());
  });
  $('tail-stop').addEventListener('click', () => stopTail());
}

// --- publishing -------------------------------------------------------------------------------

async function publish() {
  const result = $('publish-result');
  let data;
  try {
    data = JSON.parse($('publish-data').value);
  } catch (error) {
    return setStatus(result, `Data is not JSON: ${error.message}`, true);
  }
  const room = $('publish-room').value.trim();
  try {
    const { publish: message } = await graphql(PUBLISH, { room, event: $('publish-event').value.trim(), data });
    setStatus(result, `Published to ${room}: seq ${message.seq}.`);
  } catch (error) {
    setStatus(result, explain(error), true);
  }
}

function setupPublish() {
  $('publish-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void publish();
  });
}

setupToken();
setupTail();
setupPublish();
void refresh();
setInterval(() => void refresh(), REFRESH_MS);
