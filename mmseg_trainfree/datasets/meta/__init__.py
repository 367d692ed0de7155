"""Class tables of the benchmarks (data, not code): names, id tables, label mappings."""
