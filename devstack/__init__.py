"""Local tooling: the single-node Kafka and the throwaway Tryton the project starts
itself, their supervision, seed data and sample messages, the flash-sale generator and
the demo. Workers never import this package; it may import the runtime (``streams``)."""
