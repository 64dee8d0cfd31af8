"""jiliang 计量 — legal-metrology platform for Shanghai."""

__version__ = "0.1.0"
