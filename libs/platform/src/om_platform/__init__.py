"""Shared service plumbing: Kafka edge (at-least-once, retries, dead letters), settings, Mongo, logging, metrics, health."""
