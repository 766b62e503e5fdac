"""Async NetSuite REST/SuiteQL client: TBA and OAuth 2.0, typed errors, retries, per-account concurrency budget."""
