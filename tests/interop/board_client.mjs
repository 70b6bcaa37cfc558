// A real Yjs client (yjs + y-websocket) editing a HugMood board, for the interop test.
//
// usage: node board_client.mjs <serverUrl ws://host:port/boards> <boardId> <token> <name>
//        <bursts> <participants comma-separated>
// It adds 10 stickers per burst (and overwrites the shared "shared" item), disconnecting
// and reconnecting between bursts, then writes "done-<name>" and waits until every
// participant's "done-*" is there: Yjs integrates a client's changes in order, so by then
// it holds every edit. It prints the final items and state vector as one JSON line.
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const [serverUrl, boardId, token, name, burstsArg, participantsArg] = process.argv.slice(2)
const bursts = Number(burstsArg)
const participants = participantsArg.split(',')

const doc = new Y.Doc()
const items = doc.getMap('items')
const provider = new WebsocketProvider(serverUrl, `${boardId}/ws`, doc, {
  WebSocketPolyfill: WebSocket,
  params: { token },
  connect: false,
  disableBc: true,
})
provider.on('connection-close', (event) => {
  if (event && event.code >= 4000) {
    console.error(`closed by the server: ${event.code} ${event.reason}`)
    process.exit(3)
  }
})
provider.awareness.setLocalStateField('user', { name })

// Synced on an open socket. Right after `disconnect()` the old socket is still closing and
// the provider still says `synced`: what is set then is dropped with that socket, and only a
// new connection's sync carries it to the server. Waiting for a socket that is really open
// keeps this client from finishing (and exiting) before the server has its last edits.
const synced = async () => {
  while (!(provider.ws && provider.ws.readyState === WebSocket.OPEN && provider.synced)) {
    await sleep(10)
  }
}
const sticker = (i, burst) => ({
  kind: 'sticker', mood: 'hopeful', x: i, y: burst, color: '#8844cc', addedBy: name, addedAt: Date.now(),
})
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

for (let burst = 0; burst < bursts; burst++) {
  if (burst % 2 === 1) {
    // Offline edits: made while disconnected, sent when the socket is back.
    provider.disconnect()
    for (let i = 0; i < 10; i++) items.set(`${name}-${burst}-${i}`, sticker(i, burst))
    provider.connect()
    await synced()
  } else {
    provider.connect()
    await synced()
    for (let i = 0; i < 10; i++) {
      items.set(`${name}-${burst}-${i}`, sticker(i, burst))
      items.set('shared', sticker(i, burst))
      await sleep(2)
    }
    provider.disconnect()
  }
}
provider.connect()
await synced()
items.set(`done-${name}`, sticker(0, -1))
const deadline = Date.now() + 30000
while (!participants.every((p) => items.has(`done-${p}`))) {
  if (Date.now() > deadline) {
    // What this replica saw, so a failure says whether the socket or the server lost it.
    console.error(
      `timed out waiting for ${participants.filter((p) => !items.has(`done-${p}`))}; ` +
        `connected=${provider.wsconnected} synced=${provider.synced} items=${items.size}`,
    )
    process.exit(2)
  }
  await sleep(20)
}
console.log(JSON.stringify({
  items: items.toJSON(),
  stateVector: Buffer.from(Y.encodeStateVector(doc)).toString('base64'),
}))
provider.destroy()
process.exit(0)
