"""SLA contracts: contractual periods in the contract's time zone, eligible, excluded and down minutes,
attainment against the target and credit tiers, credit amounts (DESIGN.md §2), computed exactly."""
