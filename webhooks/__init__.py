"""Partners' webhook endpoints and signed, retried deliveries of events (jobs, consents) to them."""
