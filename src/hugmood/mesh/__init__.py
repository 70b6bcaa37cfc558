"""The regional service mesh: internal request/reply services on NATS (the micro-services API),
signed caller identity checked by every service, and a caller that retries only what is safe."""
