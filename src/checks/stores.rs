//! The data stores as the application reaches them: PostgreSQL, Redis, Kafka.
