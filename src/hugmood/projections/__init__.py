"""Read models: projections of the event log, each with the queries' tables it maintains."""
