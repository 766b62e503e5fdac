"""Use cases of stock_sync; they receive their ports (protocols in `ports`) as arguments."""
