"""cachechaos: chaos and load testing for cache architectures."""

__version__ = "0.1.0"
