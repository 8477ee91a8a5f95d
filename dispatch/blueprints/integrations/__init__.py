"""integrations pages: the admin's map of alarm points, and the points panels sent that are not mapped yet."""
