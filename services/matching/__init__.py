"""The matching service: allocates pledges to needs (rules in domain/, docs/matching.md)."""
