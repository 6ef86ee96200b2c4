"""Live exchanges through ccxt: one connector for any ccxt exchange id, spot and perpetual."""
