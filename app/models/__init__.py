"""What users make: `store` (tables, engine set-up, migrations) and `services` (one per noun) over it. No Qt."""
