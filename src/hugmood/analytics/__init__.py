"""Analytics beside the read models: community mood in a DuckDB column store, released with
differential privacy, and similar minds over mood-pattern vectors in a usearch index."""
