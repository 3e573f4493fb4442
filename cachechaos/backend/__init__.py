"""The sample marketplace backend: PostgreSQL truth, Redis (Sentinel) L2, in-process L1."""
