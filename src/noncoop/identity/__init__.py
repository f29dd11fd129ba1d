"""Stage 2, identity: who each identifier is. NHS numbers and UPNs checked (a failing identifier is
quarantined, never matched) and the people crosswalk mapping every identifier to one subject with
role and household.

May import: sources and the shared modules.
"""
