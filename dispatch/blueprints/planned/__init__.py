"""planned pages: preventive maintenance schedules, their occurrences, the calendar of planned work, ticket checklists."""
