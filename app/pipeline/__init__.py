"""Plain synchronous detect -> track -> forecast code. No web imports here."""
