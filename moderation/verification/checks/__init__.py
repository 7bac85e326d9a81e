"""The checks of a consent recording, one file each; each returns report entries (``report.check_result``).

``verify.py`` runs them in order: (1) face match, (2) liveness, (3) spoken text, (4) replay, (5) generated media.
"""
