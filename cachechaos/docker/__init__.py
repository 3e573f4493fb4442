"""The Docker runtime: the topology in containers, container faults, images built with or without a registry."""
