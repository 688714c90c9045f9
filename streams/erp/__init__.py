"""The ERP edge: the adapter interface every ERP implements, and the reference adapter
for Tryton (JSON-RPC client, commands, change feed, and the throwaway server the demo and
tests run)."""
