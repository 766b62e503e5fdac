"""The demo: a realistic supplier day through all three services on the embedded stack."""
