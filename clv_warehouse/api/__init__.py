"""``clv serve``: the HTTP API over the published copy (docs/api.md)."""
