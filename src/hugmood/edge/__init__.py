"""The edge's own work beside the API: a cache of public views invalidated by the log, warmed
personal views, and store-and-forward of check-ins and hugs while the home region is away."""
