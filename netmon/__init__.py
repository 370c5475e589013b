"""netmon: health monitor for duplexed (failover) network pairs."""

__version__ = "0.1.0"
