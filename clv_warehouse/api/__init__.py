"""``clv serve``: the HTTP API over the published copy (README, "HTTP API")."""
