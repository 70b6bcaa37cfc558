"""Personal insights: what a person's own check-ins say about them (`statistics`), and the
consumer that says it when enough has changed (`service`)."""
