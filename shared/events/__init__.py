"""The public event contract: CloudEvents 1.0 envelopes and the pydantic models of their data.

- :mod:`shared.events.envelope`: the envelope, structured and binary Kafka modes;
- :mod:`shared.events.common`: value types shared by many events (places, quantities, refs);
- :mod:`shared.events.inbound`: what people and systems post on the intake topics;
- :mod:`shared.events.canonical`: what ingest accepted, normalised, for matching;
- :mod:`shared.events.outbound`: matches, notifications, audit records, rejected input;
- :mod:`shared.events.registry`: every event type, its data model and its topic.
"""
