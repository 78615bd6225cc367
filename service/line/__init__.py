"""The LINE channel: webhook, inbox, handlers, messages and the platform client."""
