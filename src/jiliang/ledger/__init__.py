"""Tamper-evident records: the append-only Merkle ledger (RFC 9162 / RFC 6962 hashing)."""
