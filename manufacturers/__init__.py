"""Manufacturer screens: products, batches, serial commissioning, label printing, shipping."""
