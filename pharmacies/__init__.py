"""Pharmacy screens: receive, scan-to-verify, dispense, suspect reports."""
