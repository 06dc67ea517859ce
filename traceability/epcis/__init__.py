"""EPCIS 2.0: capture documents, query events, export the ledger's custody events."""
