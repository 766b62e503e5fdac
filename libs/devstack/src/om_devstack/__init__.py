"""Embedded development stack: tansu broker, secantusdb server, NetSuite simulator; pytest fixtures.

``EmbeddedStack`` starts the servers as child processes on free loopback ports and guarantees
they do not outlive the parent; ``om_devstack.pytest_plugin`` exposes them as fixtures;
``python -m om_devstack up`` runs them in the foreground for development.
"""

from om_devstack._credentials import sealed_credentials, sealed_m2m_credentials
from om_devstack._docker import DockerUnavailableError
from om_devstack._process import StartupError
from om_devstack._session import StackSession
from om_devstack._watch import alive, children_of, wait_dead
from om_devstack.stack import EmbeddedStack, TopicSpec, create_topics

__all__ = [
    "DockerUnavailableError",
    "EmbeddedStack",
    "StackSession",
    "StartupError",
    "TopicSpec",
    "alive",
    "children_of",
    "create_topics",
    "sealed_credentials",
    "sealed_m2m_credentials",
    "wait_dead",
]
