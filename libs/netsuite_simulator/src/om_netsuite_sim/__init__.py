"""A NetSuite REST/SuiteQL simulator for development, tests, demos and benchmarks."""
