"""Adapters: cachechaos against a service's own API (paths, JSON shapes, verbs), with or without versions.

model.py (the declaration), keys.py / templates.py / compiled.py (the request path, compiled once
per process), values.py / derive.py (versions from unique written values), hook.py (a Python class
for APIs a declaration cannot express), shop.py (the load workers' side), final_reads.py, probe.py.
"""
