"""GraphQL subscriptions over WebSockets (`graphql-transport-ws`), thin enough to hold tens of
thousands of idle sockets in one process.

- `endpoint`: the ASGI entry for `/graphql` sockets (Origin allowlist, subprotocol);
- `connection`: one socket: authentication in `connection_init`, operations, pushes;
- `registry`: every socket of this process, swept together (sessions, presence) and closed
  at once when their session ends;
- `protocol`: the wire format and close codes.

Operations run through `graphql.operations`, as over HTTP.

An idle socket holds no task and no queue of its own: subscriptions are callbacks on the
real-time hub (`RealtimeHub.listen`), and a socket gets a short-lived task only while it has
something to push.
"""
