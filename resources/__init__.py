"""Clients for each source, the lake and the warehouse: everything that talks to the outside."""
