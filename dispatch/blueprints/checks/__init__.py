"""checks pages: check forms (inspection rounds and test records), filling them in on the phone, their records and on-time compliance."""
