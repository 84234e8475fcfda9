{{ deduplicated_prices() }}
