"""The event bus: a port for publishing events and consuming them durably, its in-process and
NATS JetStream backends, the lease that lets one process publish at a time, and the relay that
carries the event store's log onto the bus."""
