"""Embedded development stack: tansu broker, secantusdb server, NetSuite simulator; pytest fixtures."""
