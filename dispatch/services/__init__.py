"""The rules. Views, CLI commands, SMS replies and jobs all come through here."""
