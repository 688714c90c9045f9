"""The WooCommerce edge: webhook ingress, signature check, REST client, the normalizer
of WooCommerce's JSON into canonical events, and the pieces of the store sink."""
