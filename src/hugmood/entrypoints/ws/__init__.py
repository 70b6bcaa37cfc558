"""GraphQL subscriptions over WebSockets (`graphql-transport-ws`), thin enough to hold tens of
thousands of idle sockets in one process.

- `endpoint`: the ASGI entry for `/graphql` sockets (Origin allowlist, subprotocol);
- `connection`: one socket: authentication in `connection_init`, operations, pushes;
- `registry`: every socket of this process, swept together (sessions, presence) and closed
  at once when their session ends;
- `operations`: parsing and validation (cached), and running a subscription's selection over
  one event;
- `protocol`: the wire format and close codes.

An idle socket holds no task and no queue of its own: subscriptions are callbacks on the
real-time hub (`RealtimeHub.listen`), and a socket gets a short-lived task only while it has
something to push.
"""
