"""Shared kernel: configuration, database and models, events, contacts, auth, Twilio,
Redis and queues. Every domain builds on it; it imports none of them."""
