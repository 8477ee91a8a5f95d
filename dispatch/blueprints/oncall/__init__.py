"""oncall pages: who is on call, the rota, overrides, swaps, calendar feed, gaps and escalation policies."""
