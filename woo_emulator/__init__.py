"""A WooCommerce emulator: the REST v3 subset woosync uses and webhook delivery the way
WooCommerce does it (signed, asynchronous, coalesced, never retried, disabled after
repeated failures), with its faults, for tests, the demo and benchmarks. Behaviour is
taken from ../shared/woocommerce-facts.md; where the facts give two values or mark one
UNCONFIRMED, it is a setting (see ``config.EmulatorConfig``)."""
