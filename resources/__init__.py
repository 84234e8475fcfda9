"""Clients for each source and the lake: everything that talks to the outside."""
